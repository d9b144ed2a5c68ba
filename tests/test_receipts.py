"""Signed receipts: valid ones verify offline; altered, foreign, truncated or non-receipts fail,
and say which part failed.  Keys: generated once with mode 0600 and reused, or configured."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import stat
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from bot.storage import choose_backend
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from forms.receipts import (
    FIELDS,
    KEY_FILENAME,
    TOKEN_PREFIX,
    Receipt,
    ReceiptKeyError,
    ReceiptSettings,
    canonical_json,
    check_form_code,
    field_digests,
    fingerprint,
    form_code,
    issue_receipt,
    key_id,
    load_public_key,
    load_signing_key,
    public_pem,
    signed_message,
)
from forms.render import render_form
from forms.verify import verify_receipt
from tests.cli_runner import run_bot

AT = dt.datetime(2024, 10, 1, 4, 30, tzinfo=dt.UTC)  # 12:30 in Beijing
SHA = "9f" * 32


@pytest.fixture(scope="module")
def contest() -> Contest:
    found = ContestRegistry.load().get("most-cas-2024-kepu")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def submission(**changes: Any) -> Submission:
    base: dict[str, Any] = {
        "number": "KP2024-000123",
        "contest_id": "most-cas-2024-kepu",
        "user": UserKey("telegram", "42"),
        "channel_id": "recommend",
        "form_id": "recommend",
        "answers": {
            "unit": "中国科学院物理研究所",
            "title": "超导的秘密",
            "authors": ["张三", "李四"],
            "summary": "用实验讲清超导。",
        },
        "video": {"kind": "file", "sha256": SHA, "checked": True, "verdict": "passed", "size": 1},
        "created_at": AT,
    }
    base.update(changes)
    return Submission(**base)


@pytest.fixture(scope="module")
def receipt(contest: Contest, key: Ed25519PrivateKey) -> Receipt:
    return issue_receipt(submission(), contest, key)


@pytest.fixture(scope="module")
def receipt_pdf(receipt: Receipt) -> bytes:
    return receipt.pdf("https://kepu.example.cn/receipts/verify")


def test_a_receipt_certifies_what_was_submitted(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    assert receipt.payload == {
        "number": "KP2024-000123",
        "contest_id": "most-cas-2024-kepu",
        "contest_title": "2024年全国科普微视频大赛",
        "channel_id": "recommend",
        "channel": "地方、部门推荐",
        "track": None,  # a work's
        "title": "超导的秘密",
        "first_author": "张三",
        "unit": "中国科学院物理研究所",
        "submitted_at": "2024-10-01T12:30:00+08:00",
        "video_sha256": SHA,
        "video_link": None,
        "check": "passed",
        "key_id": key_id(key.public_key()),
    }
    assert tuple(receipt.payload) == FIELDS


def test_a_link_submission_certifies_the_link_and_that_it_was_not_checked(
    contest: Contest, key: Ed25519PrivateKey
) -> None:
    video = {"kind": "share_link", "url": "https://pan.baidu.com/s/1AbC", "code": "k3p9", "checked": False}
    payload = issue_receipt(submission(video=video), contest, key).payload
    assert payload["video_link"] == "https://pan.baidu.com/s/1AbC"
    assert payload["video_sha256"] is None and payload["check"] == "not_checked"
    assert "k3p9" not in json.dumps(payload)  # the drive's extraction code is not published


def test_a_failed_content_check_is_not_certified_as_passed(contest: Contest, key: Ed25519PrivateKey) -> None:
    # Tried: a video flagged ✗ 与已有投稿画面相同 got a receipt saying 自动检查：已通过.
    video = {"kind": "file", "sha256": SHA, "checked": True, "verdict": "passed",
             "content": {"ok": False, "checks": [{"id": "duplicates", "ok": False}]}}  # fmt: skip
    receipt = issue_receipt(submission(video=video), contest, key)
    assert receipt.payload["check"] == "content_failed"
    assert "内容检查有未通过项" in receipt.text_zh()
    fine = {**video, "content": {"ok": True, "checks": []}}
    assert issue_receipt(submission(video=fine), contest, key).payload["check"] == "passed"


def test_an_individual_entrant_is_not_printed_as_their_own_unit(
    contest: Contest, key: Ed25519PrivateKey
) -> None:
    # Tried: a person entering on their own got "第一作者：张伟 / 单位：张伟".
    answers = {"unit": "张伟", "title": "超导的秘密", "authors": ["张伟", "李四"]}
    text = issue_receipt(
        submission(channel_id="self", form_id="self", answers=answers), contest, key
    ).text_zh()
    assert "第一作者：张伟" in text and "单位：" not in text
    org = {**answers, "unit": "中国科学院物理研究所"}
    text = issue_receipt(submission(channel_id="self", form_id="self", answers=org), contest, key).text_zh()
    assert "单位：中国科学院物理研究所" in text


def test_a_science_account_is_named_as_an_account_not_a_work(key: Ed25519PrivateKey) -> None:
    # A cacsi 科普号's receipt said "作品名称：青少年科学实验室": it is the account's name.
    cacsi = ContestRegistry.load().get("cacsi-2022-youth")
    assert cacsi is not None
    answers = {"account_name": "青少年科学实验室", "unit": "某某中学", "member": "单位会员"}
    entry = submission(
        number="QK2022-000001", contest_id=cacsi.id, channel_id="member", form_id="account",
        answers=answers, video={},
    )  # fmt: skip
    receipt = issue_receipt(entry, cacsi, key)
    assert receipt.payload["track"] == "account"
    text = receipt.text_zh()
    assert "科普号名称：青少年科学实验室" in text and "作品名称" not in text
    for data in (receipt.to_json(), text, receipt.pdf()):
        result = verify_receipt(data, key.public_key())
        assert result.ok, result.problem
        assert "科普号名称：青少年科学实验室" in result.certifies_zh()
    # The name shown beside the token is checked as the title is.
    shown = verify_receipt(text.replace("：青少年科学实验室", "：别的科普号"), key.public_key())
    assert (shown.ok, shown.part) == (False, "shown") and "科普号名称" in (shown.problem or "")


def test_a_receipt_signed_before_the_track_was_certified_still_verifies(
    receipt: Receipt, key: Ed25519PrivateKey
) -> None:
    payload = {k: v for k, v in receipt.payload.items() if k != "track"}
    digests = field_digests(payload)
    old = Receipt(payload, key.sign(signed_message(digests)), digests)
    result = verify_receipt(old.to_json(), key.public_key())
    assert result.ok, result.problem
    assert "作品名称：超导的秘密" in result.certifies_zh()


def test_issuing_again_gives_the_same_receipt(
    receipt: Receipt, contest: Contest, key: Ed25519PrivateKey
) -> None:
    again = issue_receipt(submission(), contest, key)
    assert again.token == receipt.token and again.to_json() == receipt.to_json()


@pytest.mark.parametrize("form", ["json", "token", "pdf", "chat"])
def test_valid_receipts_verify_in_every_form(
    receipt: Receipt, receipt_pdf: bytes, key: Ed25519PrivateKey, form: str
) -> None:
    data: str | bytes = {
        "json": receipt.to_json(),
        "token": receipt.token,
        "pdf": receipt_pdf,
        "chat": "谢谢！这是我的回执：\n" + receipt.text_zh() + "\n请查收",
    }[form]
    result = verify_receipt(data, key.public_key())
    assert result.ok, result.problem
    assert result.payload == receipt.payload
    assert result.source == {"json": "json", "token": "token", "pdf": "pdf", "chat": "token"}[form]
    assert "作品名称：超导的秘密" in result.certifies_zh()


def test_the_pdf_shows_the_receipt_and_carries_it(receipt: Receipt, receipt_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(receipt_pdf))
    assert len(reader.pages) == 1
    text = "".join(reader.pages[0].extract_text().split())
    for expected in (
        "投稿回执",
        "KP2024-000123",
        "超导的秘密",
        "张三",
        "2024年10月01日12:30:00（北京时间）",
        SHA[:20],
    ):
        assert expected in text
    assert "https://kepu.example.cn/receipts/verify" in text
    assert reader.attachments["receipt.json"][0].decode() == receipt.to_json()
    assert receipt.qr_text("https://kepu.example.cn/receipts/verify") == (
        f"https://kepu.example.cn/receipts/verify#{receipt.token}"
    )


def test_chat_text_names_the_submission_and_ends_with_the_token(receipt: Receipt) -> None:
    text = receipt.text_zh()
    for line in ("报名编号：KP2024-000123", "作品名称：超导的秘密", "第一作者：张三", "自动检查：已通过"):
        assert line in text
    assert text.endswith(receipt.token) and receipt.token.startswith(TOKEN_PREFIX)
    assert len(receipt.token) < 800  # short enough to paste into a chat


@pytest.mark.parametrize("name", FIELDS)
def test_each_altered_field_is_named(receipt: Receipt, key: Ed25519PrivateKey, name: str) -> None:
    document = json.loads(receipt.to_json())
    document["payload"][name] = "改过" if document["payload"][name] != "改过" else "又改过"
    result = verify_receipt(json.dumps(document, ensure_ascii=False), key.public_key())
    assert not result.ok
    assert result.part == f"payload.{name}"
    assert name in (result.problem or "")


def test_an_added_or_removed_field_is_named(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    document = json.loads(receipt.to_json())
    document["payload"]["prize"] = "一等奖"
    added = verify_receipt(json.dumps(document), key.public_key())
    assert (added.ok, added.part) == (False, "payload.prize")
    document = json.loads(receipt.to_json())
    del document["payload"]["check"]
    removed = verify_receipt(json.dumps(document), key.public_key())
    assert (removed.ok, removed.part) == (False, "payload.check")


def test_an_altered_signature_or_digest_list_fails(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    document = json.loads(receipt.to_json())
    sig = bytearray(base64.urlsafe_b64decode(document["signature"] + "=="))
    sig[10] ^= 1
    document["signature"] = base64.urlsafe_b64encode(bytes(sig)).decode().rstrip("=")
    assert verify_receipt(json.dumps(document), key.public_key()).part == "signature"

    document = json.loads(receipt.to_json())
    document["payload"]["title"] = "冒名的作品"
    document["digests"] = field_digests(document["payload"])  # a forger recomputes the digests
    result = verify_receipt(json.dumps(document), key.public_key())
    assert (result.ok, result.part) == (False, "signature")

    document = json.loads(receipt.to_json())
    document["digests"]["unit"] = document["digests"]["title"]
    result = verify_receipt(json.dumps(document), key.public_key())
    assert (result.ok, result.part) == (False, "digests")
    assert "unit" in (result.problem or "")


def test_an_altered_token_fails(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    raw = base64.urlsafe_b64decode(receipt.token[len(TOKEN_PREFIX) :] + "==")
    payload = json.loads(zlib.decompress(raw[64:]))
    payload["title"] = "冒名的作品"
    forged = (
        TOKEN_PREFIX + base64.urlsafe_b64encode(raw[:64] + zlib.compress(canonical_json(payload))).decode()
    )
    result = verify_receipt(forged.rstrip("="), key.public_key())
    assert (result.ok, result.part, result.source) == (False, "signature", "token")


def test_a_receipt_signed_by_another_key_fails_as_such(receipt: Receipt, receipt_pdf: bytes) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    for data in (receipt.to_json(), receipt.token, receipt_pdf):
        result = verify_receipt(data, other)
        assert (result.ok, result.part) == (False, "key")
        assert key_id(other) in (result.problem or "")


@pytest.mark.parametrize("cut", [1, 10, 200])
def test_truncated_receipts_fail(
    receipt: Receipt, receipt_pdf: bytes, key: Ed25519PrivateKey, cut: int
) -> None:
    for data, parts in (
        (receipt.to_json().rstrip()[:-cut], {"truncated"}),
        (receipt.token[:-cut], {"truncated"}),
        (receipt_pdf[: len(receipt_pdf) - cut * 100], {"format"}),
    ):
        result = verify_receipt(data, key.public_key())
        assert not result.ok and result.part in parts, (cut, result)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"\xff\xfe\x00binary",
        "{}",
        '{"format": "kepu-submit/receipt/v9", "payload": {}}',
        '{"format": "kepu-submit/receipt/v1", "payload": ["x"], "digests": {}, "signature": ""}',
        '{"format": "kepu-submit/receipt/v1", "payload": {"number": 1}, "digests": {}, "signature": ""}',
        '{"format": "kepu-submit/receipt/v1", "payload": {"number": "x", "key_id": "y"}, "signature": ""}',
        "[1, 2, 3]",
        "KSR1.",
    ],
)
def test_things_that_are_not_receipts_fail(key: Ed25519PrivateKey, data: str | bytes) -> None:
    result = verify_receipt(data, key.public_key())
    assert not result.ok
    assert result.part in {"format", "truncated"}
    assert result.problem


def test_a_form_pdf_is_not_a_receipt(contest: Contest, key: Ed25519PrivateKey) -> None:
    pdf = render_form(contest, "self", {"title": "表不是回执"}).pdf
    result = verify_receipt(pdf, key.public_key())
    assert (result.ok, result.part, result.source) == (False, "format", "pdf")


def test_hostile_values_are_shown_not_obeyed(contest: Contest, key: Ed25519PrivateKey) -> None:
    answers = {"unit": "单位", "title": "\u202eevil {{ x }} <b>", "authors": ["张三"]}
    receipt = issue_receipt(submission(answers=answers), contest, key)
    assert receipt.payload["title"] == "\u202eevil {{ x }} <b>"  # certified exactly as stored
    assert "作品名称：[U+202E]evil {{ x }} <b>" in receipt.text_zh()
    assert verify_receipt(receipt.token, key.public_key()).ok


# --- keys --------------------------------------------------------------------------------------


def test_the_key_is_created_private_once_and_reused(tmp_path: Path) -> None:
    first = load_signing_key(tmp_path / "data")
    path = tmp_path / "data" / KEY_FILENAME
    assert first.created and first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_signing_key(tmp_path / "data")
    assert not second.created and second.key_id == first.key_id
    assert not [p for p in path.parent.iterdir() if p.name != KEY_FILENAME]  # no temporary left


def test_a_key_made_meanwhile_by_another_worker_wins(tmp_path: Path) -> None:
    from forms.receipts import _create_key_file

    winner = load_signing_key(tmp_path)
    loser, created = _create_key_file(tmp_path / KEY_FILENAME)
    assert not created and key_id(loser.public_key()) == winner.key_id


def test_without_create_a_missing_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_signing_key(tmp_path, create=False)
    assert not (tmp_path / KEY_FILENAME).exists()


def test_a_configured_key_is_used_and_no_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: Ed25519PrivateKey
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    for configured in (pem, base64.b64encode(seed).decode()):
        monkeypatch.setenv("BOT_RECEIPT_PRIVATE_KEY", configured)
        loaded = load_signing_key(tmp_path, ReceiptSettings())
        assert loaded.key_id == key_id(key.public_key()) and loaded.source == "BOT_RECEIPT_PRIVATE_KEY"
    assert not (tmp_path / KEY_FILENAME).exists()
    monkeypatch.setenv("BOT_RECEIPT_PRIVATE_KEY", "c2VjcmV0LW5vdC1hLWtleQ==")
    with pytest.raises(ReceiptKeyError) as err:
        load_signing_key(tmp_path, ReceiptSettings())
    assert "c2VjcmV0" not in str(err.value)  # the secret is never echoed


def test_public_key_round_trip_and_fingerprint(key: Ed25519PrivateKey) -> None:
    pem = public_pem(key.public_key())
    printed = f"# key id: {key_id(key.public_key())}\n{pem}# trailing comment\n"
    assert key_id(load_public_key(printed)) == key_id(key.public_key())
    assert fingerprint(key.public_key()).startswith("SHA256:")
    with pytest.raises(ReceiptKeyError):
        load_public_key("not a key")


def test_form_codes_are_short_stable_and_bound_to_number_and_key(key: Ed25519PrivateKey) -> None:
    code = form_code("KP2024-000123", key)
    assert len(code) == 9 and code[4] == "-" and code == form_code("KP2024-000123", key)
    assert form_code("KP2024-000124", key) != code
    assert form_code("KP2024-000123", Ed25519PrivateKey.generate()) != code
    assert check_form_code("KP2024-000123", code.lower().replace("-", " "), key)
    assert not check_form_code("KP2024-000124", code, key)


# --- the command line ----------------------------------------------------------------------


def cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_bot(args, env={"BOT_DATA_DIR": str(cwd / "data"), **env}, cwd=cwd)


def seed_store(data_dir: Path) -> str:
    async def create() -> str:
        storage, isolation = await choose_backend(data_dir=data_dir, redis_url=None).open_storage()
        try:
            sub = submission()
            made = await storage.create_submission(
                prefix="KP2024",
                contest_id=sub.contest_id,
                user=sub.user,
                channel_id=sub.channel_id,
                form_id=sub.form_id,
                answers=sub.answers,
                video=sub.video,
                now=AT,
            )
            return made.number
        finally:
            await isolation.close()
            await storage.close()

    return asyncio.run(create())


def test_cli_keys_receipt_and_verify(tmp_path: Path) -> None:
    number = seed_store(tmp_path / "data")
    keys = cli(["keys", "--out", str(tmp_path / "organiser.pem")], tmp_path)
    assert keys.returncode == 0, keys.stderr
    assert "-----BEGIN PUBLIC KEY-----" in keys.stdout and "fingerprint: SHA256:" in keys.stdout
    assert stat.S_IMODE((tmp_path / "data" / KEY_FILENAME).stat().st_mode) == 0o600
    again = cli(["keys"], tmp_path)
    assert again.stdout == keys.stdout  # the same key, not a new one

    for suffix in (".pdf", ".json", ".txt"):
        out = tmp_path / f"receipt{suffix}"
        issued = cli(["receipt", number, "--out", str(out)], tmp_path)
        assert issued.returncode == 0, issued.stderr
        assert f"报名编号：{number}" in issued.stdout and out.stat().st_size > 0
        checked = cli(["verify-receipt", str(out), "--public-key", str(tmp_path / "organiser.pem")], tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "回执有效" in checked.stdout and "作品名称：超导的秘密" in checked.stdout
    # Without --public-key: this installation's own key.
    assert cli(["verify-receipt", str(tmp_path / "receipt.txt")], tmp_path).returncode == 0

    document = json.loads((tmp_path / "receipt.json").read_text(encoding="utf-8"))
    document["payload"]["unit"] = "别的单位"
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    failed = cli(["verify-receipt", str(altered)], tmp_path)
    assert failed.returncode == 1 and "payload.unit" in failed.stdout

    other = tmp_path / "other.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    foreign = cli(["verify-receipt", str(tmp_path / "receipt.pdf"), "--public-key", str(other)], tmp_path)
    assert foreign.returncode == 1 and "key" in foreign.stdout

    cut = tmp_path / "cut.json"
    cut.write_text((tmp_path / "receipt.json").read_text(encoding="utf-8")[:100], encoding="utf-8")
    assert cli(["verify-receipt", str(cut)], tmp_path).returncode == 1

    missing = cli(["verify-receipt", str(tmp_path / "nope.json")], tmp_path)
    assert missing.returncode == 2 and "无法读取" in missing.stderr
    unknown = cli(["receipt", "KP2024-999999", "--out", str(tmp_path / "x.pdf")], tmp_path)
    assert unknown.returncode == 2 and "KP2024-999999" in unknown.stderr


def test_cli_verify_without_any_key_says_so(tmp_path: Path) -> None:
    token = tmp_path / "token.txt"
    token.write_text("KSR1.abc", encoding="utf-8")
    result = cli(["verify-receipt", str(token)], tmp_path)
    assert result.returncode == 2 and "--public-key" in result.stderr
    assert not (tmp_path / "data" / KEY_FILENAME).exists()


def test_a_genuine_receipt_with_characters_that_draw_nothing_verifies(
    contest: Contest, key: Ed25519PrivateKey
) -> None:
    # A zero-width space, a soft hyphen and a line separator are in the signed value but leave
    # no glyph, so no text, on the page: the page still shows the signed rows.
    answers = {"unit": "中国科学院\u200b物理研究所", "title": "超\u00ad导的\u2028秘密", "authors": ["张三"]}
    receipt = issue_receipt(submission(answers=answers), contest, key)
    assert verify_receipt(receipt.pdf("https://kepu.example.cn/receipts/verify"), key.public_key()).ok
