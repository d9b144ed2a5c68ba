// The web chat page: the same dialog as in the chat apps.  Text is always set with
// textContent (never HTML); links are shown only for http(s) URLs.
"use strict";

(() => {
  const log = document.getElementById("log");
  const form = document.getElementById("say");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const attachButton = document.getElementById("attach");
  const fileInput = document.getElementById("file");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let sending = false;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function safeUrl(url) {
    try {
      const u = new URL(url, location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function scroll() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    const p = document.createElement("div");
    p.className = "text";
    p.textContent = text;
    div.appendChild(p);
    log.appendChild(div);
    scroll();
    return div;
  }

  function retireButtons() {
    // Only the latest question's buttons stay live; the dialog refuses stale ones anyway.
    // Returns the ones it retired, to be given back if the message never reached the dialog.
    const live = [...log.querySelectorAll("button.choice")].filter((b) => !b.disabled);
    for (const b of live) b.disabled = true;
    return live;
  }

  function showReply(reply) {
    const div = bubble("bot", reply.text);
    const upload = reply.upload_url && safeUrl(reply.upload_url);
    if (upload) {
      const a = document.createElement("a");
      a.href = upload;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.className = "upload-link";
      a.textContent = "打开上传页面";
      div.appendChild(a);
    }
    if (reply.document && safeUrl(reply.document.url)) {
      const a = document.createElement("a");
      a.href = reply.document.url;
      a.download = reply.document.name;
      a.className = "doc-link";
      a.textContent = "下载 " + reply.document.name;
      div.appendChild(a);
    }
    if (reply.choices && reply.choices.length) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const c of reply.choices) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "choice";
        // Numbered as the question's 回复序号 means; the entrant's own bubble shows the words.
        b.textContent = c.number ? `${c.number}. ${c.label}` : c.label;
        b.addEventListener("click", () => send({ choice: c.payload }, c.label));
        row.appendChild(b);
      }
      div.appendChild(row);
    }
    scroll();
  }

  // One event to the dialog: JSON (text, choice, start) or a file's raw bytes.
  // ``typed``: the text the entrant typed, put back in the box if it never reached the dialog.
  async function post(url, body, headers, shown, typed) {
    if (sending) return;
    sending = true;
    sendButton.disabled = true;
    attachButton.disabled = true;
    const retired = retireButtons();
    if (shown) bubble("me", shown);
    let delivered = false;
    try {
      const resp = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { ...headers, "X-CSRF-Token": csrf },
        body,
      });
      if (resp.status === 403) {
        bubble("error", "会话已失效，请刷新页面。");
        return;
      }
      const data = await resp.json();
      if (!resp.ok) {
        bubble("error", data.message || "发送失败，请重试。");
        return;
      }
      delivered = true;
      for (const r of data.replies) showReply(r);
    } catch (e) {
      bubble("error", "网络错误，消息未送达，请重试。");
    } finally {
      if (!delivered) {
        // Nothing was lost: the question's buttons are live again and the typed text is back.
        for (const b of retired) b.disabled = false;
        if (typed && !input.value) input.value = typed;
      }
      sending = false;
      sendButton.disabled = false;
      attachButton.disabled = false;
      input.focus();
    }
  }

  function send(body, shown, typed) {
    return post("/chat/api/send", JSON.stringify(body), { "Content-Type": "application/json" }, shown, typed);
  }

  attachButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    post(
      "/chat/api/file",
      file,
      {
        "Content-Type": file.type || "application/octet-stream",
        "X-File-Name": encodeURIComponent(file.name),
      },
      "📎 " + file.name,
    );
  });

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text, text);
  });

  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  // Messages that arrive later (the upload page's verdict) come through a long poll.
  async function poll() {
    for (;;) {
      try {
        const resp = await fetch("/chat/api/poll?wait=20", { cache: "no-store", credentials: "same-origin" });
        if (resp.status === 403) return;
        if (!resp.ok) {
          // The service is busy (its store is down): ask again later, not in a tight loop.
          await sleep(3000);
          continue;
        }
        const data = await resp.json();
        if (data.replies && data.replies.length) {
          // A report pushed later (the content check) leaves the question on screen answerable;
          // only a message that asks anew retires its buttons.
          if (data.replies.some((r) => r.choices && r.choices.length)) retireButtons();
          for (const r of data.replies) showReply(r);
        }
      } catch (e) {
        await sleep(3000);
      }
    }
  }

  send({ start: true }, null);
  poll();
})();
