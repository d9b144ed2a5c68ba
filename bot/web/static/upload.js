// The upload page: chunked, resumable upload of one file to /upload/<token>/…
// The server is the source of truth for the offset: after any failure the page asks it
// (GET status) and continues from there, also after a reload.
"use strict";

(() => {
  const root = document.getElementById("upload");
  if (!root) return;
  const api = root.dataset.api;
  const chunkSize = Number(root.dataset.chunk) || 8 * 1024 * 1024;
  const maxBytes = Number(root.dataset.max);
  const minBytes = Number(root.dataset.min) || 1;
  const $ = (id) => document.getElementById(id);
  const fileInput = $("file");
  const go = $("go");
  const bar = $("progress");
  const percent = $("percent");
  const statusLine = $("status");
  const MAX_FAILURES = 40; // about ten minutes of retries at the longest delay

  class Fatal extends Error {}

  // Sizes as Windows and WeChat show them ("152.3MB"), limits as the notice writes them ("0.25MB").
  const mb = (n) => (n / 1048576).toFixed(1) + "MB";
  const limit = (n) => String(Number((n / 1048576).toFixed(2))) + "MB";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function setProgress(done, total) {
    const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;
    bar.value = pct;
    bar.setAttribute("aria-valuenow", String(pct));
    percent.textContent = pct + "%";
  }

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = kind || "";
  }

  async function call(path, options) {
    // Network failures throw (TypeError); HTTP errors come back with the server's message.
    const resp = await fetch(api + path, Object.assign({ cache: "no-store", credentials: "same-origin" }, options));
    let data = {};
    try {
      data = await resp.json();
    } catch (e) {
      data = {};
    }
    return { status: resp.status, data };
  }

  function postJSON(path, body) {
    return call(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  }

  function putChunk(blob, start, total, onSent) {
    // XHR, not fetch: only XHR reports upload progress within a chunk.
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", api + "/chunk");
      xhr.timeout = 10 * 60 * 1000;
      xhr.setRequestHeader("Content-Range", `bytes ${start}-${start + blob.size - 1}/${total}`);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (ev) => onSent(ev.loaded);
      xhr.onload = () => {
        let data = {};
        try {
          data = JSON.parse(xhr.responseText);
        } catch (e) {
          data = {};
        }
        resolve({ status: xhr.status, data });
      };
      xhr.onerror = () => reject(new Error("network"));
      xhr.ontimeout = () => reject(new Error("timeout"));
      xhr.onabort = () => reject(new Error("abort"));
      xhr.send(blob);
    });
  }

  function backoff(failures) {
    return Math.min(15000, 500 * 2 ** Math.min(failures, 5));
  }

  // The server's offset, retrying through network trouble; Fatal when the link is refused.
  async function serverOffset() {
    for (let failures = 1; ; failures++) {
      try {
        const r = await call("/status");
        if (r.status === 200) return r.data;
        if (r.status >= 400 && r.status < 500) throw new Fatal(r.data.message || `上传失败（${r.status}）`);
      } catch (e) {
        if (e instanceof Fatal) throw e;
      }
      if (failures >= MAX_FAILURES) throw new Fatal("网络持续中断。请检查网络后重新打开本页，选择同一个文件继续。");
      await sleep(backoff(failures));
    }
  }

  async function begin(file) {
    for (let failures = 1; ; failures++) {
      try {
        const r = await postJSON("/start", { name: file.name, size: file.size, last_modified: file.lastModified });
        if (r.status === 200) return r.data.offset;
        if (r.data.error !== "busy") throw new Fatal(r.data.message || `上传失败（${r.status}）`);
      } catch (e) {
        if (e instanceof Fatal) throw e;
      }
      if (failures >= MAX_FAILURES) throw new Fatal("无法连接服务器，请稍后重新打开本页。");
      await sleep(backoff(failures));
    }
  }

  async function sendFile(file) {
    let offset = await begin(file);
    if (offset > 0) say(`从断点继续：已上传 ${mb(offset)} / ${mb(file.size)}`);
    else say("正在上传…");
    setProgress(offset, file.size);
    let failures = 0;
    while (offset < file.size) {
      const end = Math.min(offset + chunkSize, file.size);
      let r = null;
      try {
        const from = offset;
        r = await putChunk(file.slice(from, end), from, file.size, (sent) => setProgress(from + sent, file.size));
      } catch (e) {
        r = null; // the connection dropped: ask the server below
      }
      if (r && r.status === 200) {
        offset = r.data.offset;
        failures = 0;
        setProgress(offset, file.size);
        say(`正在上传… ${mb(offset)} / ${mb(file.size)}`);
        continue;
      }
      if (r && r.data.error === "wrong_offset") {
        offset = r.data.offset;
        continue;
      }
      if (r && r.data.error === "not_started") {
        offset = await begin(file);
        continue;
      }
      if (r && r.data.error === "finishing") {
        offset = file.size; // the server has the whole file already: ask for the verdict
        continue;
      }
      // A full disk (507, "disk_full") is not a network fault: its message says what to do.
      const retryable =
        !r || (r.status >= 500 && r.data.error !== "disk_full") || ["busy", "body_too_short"].includes(r.data.error);
      if (!retryable) throw new Fatal(r.data.message || `上传失败（${r.status}）`);
      failures++;
      if (failures >= MAX_FAILURES) throw new Fatal("网络持续中断。请检查网络后重新打开本页，选择同一个文件继续。");
      const delay = backoff(failures);
      say(`网络中断，${Math.ceil(delay / 1000)} 秒后自动从断点继续…`, "warn");
      await sleep(delay);
      const st = await serverOffset();
      offset = st.offset;
      setProgress(offset, file.size);
    }
    setProgress(file.size, file.size);
    await finish();
  }

  async function finish() {
    say("上传完成，正在检查视频，请稍候…");
    for (let failures = 1; ; failures++) {
      try {
        const r = await postJSON("/finish");
        if (r.status === 200) return showResult(r.data);
        // Finished already (its answer was lost, e.g. in a server restart): the same verdict.
        if (r.data.error === "used" && r.data.result) return showResult(r.data.result);
        if (r.status < 500 || r.data.error === "disk_full") throw new Fatal(r.data.message || `检查失败（${r.status}）`);
      } catch (e) {
        if (e instanceof Fatal) throw e;
        // The answer may have been lost after the server finished: it keeps the result.
        try {
          const st = await call("/status");
          if (st.status === 200 && st.data.state === "done") return showResult(st.data.result);
        } catch (e2) {
          /* still offline: retry */
        }
      }
      if (failures >= MAX_FAILURES) throw new Fatal("无法连接服务器，请稍后重新打开本页。");
      await sleep(backoff(failures));
    }
  }

  function showResult(result) {
    setProgress(1, 1);
    $("picker").hidden = true;
    $("resume").hidden = true;
    const box = $("verdict");
    box.hidden = false;
    box.className = result.ok === true ? "verdict ok" : result.ok === false ? "verdict fail" : "verdict";
    $("verdict-title").textContent =
      result.ok === true ? "✓ 视频检查通过" : result.ok === false ? "✗ 视频未通过检查" : "✓ 上传完成";
    $("verdict-text").textContent = result.verdict || "";
    $("verdict-text").hidden = !result.verdict;
    $("verdict-next").textContent = result.pushed
      ? "检查结果已同时发送到您的聊天窗口，请回到聊天中继续。"
      : "请回到聊天中继续报名。";
    const list = $("replies");
    list.replaceChildren();
    for (const reply of result.replies || []) {
      const p = document.createElement("pre");
      p.textContent = reply.text;
      list.appendChild(p);
      if (reply.choices && reply.choices.length) {
        const ul = document.createElement("ul");
        for (const c of reply.choices) {
          const li = document.createElement("li");
          li.textContent = c.label;
          ul.appendChild(li);
        }
        list.appendChild(ul);
      }
    }
    say(result.ok === false ? "请按报告修改视频后，在聊天中回复“上传”获取新链接再试。" : "", result.ok === false ? "error" : "");
  }

  let known = null; // what the server has of an earlier attempt

  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    go.disabled = true;
    if (!file) return;
    if (file.size > maxBytes) return say(`文件 ${mb(file.size)}，超过上限 ${limit(maxBytes)}，请压缩后再上传。`, "error");
    if (file.size < minBytes) return say(`文件 ${mb(file.size)}，小于通知要求的 ${limit(minBytes)}，请检查是否选错文件。`, "error");
    const resuming = known && known.size === file.size && known.name && known.offset > 0;
    say(resuming ? "已选择文件，点击“开始上传”从断点继续。" : `已选择「${file.name}」（${mb(file.size)}），点击“开始上传”。`);
    go.disabled = false;
  });

  go.addEventListener("click", async () => {
    const file = fileInput.files[0];
    if (!file) return;
    go.disabled = true;
    fileInput.disabled = true;
    try {
      await sendFile(file);
    } catch (e) {
      say(e instanceof Fatal ? e.message : "上传出错，请刷新页面后选择同一个文件继续。", "error");
      go.disabled = false;
      fileInput.disabled = false;
    }
  });

  // On load: show what the server already has (a finished check, or a partial upload).
  (async () => {
    try {
      const st = await serverOffset();
      if (st.state === "done") return showResult(st.result);
      if (st.state === "finishing") {
        // The whole file is on the server but its check was cut short: carry on with it.
        go.disabled = true;
        fileInput.disabled = true;
        return await finish();
      }
      if (st.state === "uploading" && st.size) {
        known = st;
        setProgress(st.offset, st.size);
        if (st.offset === st.size) {
          go.disabled = true;
          fileInput.disabled = true;
          return await finish();
        }
        const resume = $("resume");
        resume.textContent =
          `上次上传的「${st.name}」已完成 ${Math.floor((st.offset * 100) / st.size)}%` +
          `（${mb(st.offset)} / ${mb(st.size)}）。请重新选择同一个文件，将从断点继续。`;
        resume.hidden = false;
      }
    } catch (e) {
      say(e instanceof Fatal ? e.message : "无法连接服务器，请稍后刷新页面。", "error");
      go.disabled = true;
      fileInput.disabled = true;
    }
  })();
})();
