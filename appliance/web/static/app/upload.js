// Upload: pick files or a folder, or drop them; hash each one (SHA-1), ask the server which it already has
// (`/assets/bulk-upload-check`), then send the rest one by one with per-file and overall progress.

import { api, url, getSharedKey } from "./api.js";
import { sha1Hex } from "./sha1.js";
import { h, bytes, toast } from "./ui.js";

const MEDIA = /\.(jpe?g|png|gif|webp|avif|heic|heif|tiff?|bmp|dng|cr2|cr3|nef|arw|orf|rw2|raf|srw|pef|raw|jxl|mp4|mov|m4v|3gp|avi|mkv|webm|mts|m2ts|mpg|mpeg|wmv|insp|insv)$/i;
const CONCURRENCY = 2;
// Hashing reads the whole file into memory; past this size the server's own duplicate check answers instead.
const HASH_LIMIT = 256 * 1024 * 1024;

export function uploadPanel({ onDone, albumId } = {}) {
  const list = h("ul", { class: "upload-list", "aria-live": "polite" });
  const overallBar = h("progress", { max: 1, value: 0, "aria-label": "Overall upload progress" });
  const overallText = h("span", { class: "muted" }, "");
  const fileInput = h("input", { type: "file", multiple: true, accept: "image/*,video/*", hidden: true, "data-testid": "file-input" });
  const folderInput = h("input", { type: "file", multiple: true, webkitdirectory: true, hidden: true });
  const zone = h("div", { class: "dropzone", tabindex: "0", role: "button", "aria-label": "Drop photos here or choose files" },
    h("p", null, h("strong", null, "Drop photos and videos here")),
    h("p", { class: "row center" },
      h("button", { type: "button", class: "primary", onclick: () => fileInput.click() }, "Choose files"),
      h("button", { type: "button", onclick: () => folderInput.click() }, "Choose a folder")));
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    start(await droppedFiles(e.dataTransfer));
  });
  fileInput.addEventListener("change", () => { start([...fileInput.files]); fileInput.value = ""; });
  folderInput.addEventListener("change", () => { start([...folderInput.files]); folderInput.value = ""; });
  const summary = h("p", { class: "summary", role: "status" });
  const el = h("section", { class: "upload" }, zone, fileInput, folderInput,
    h("div", { class: "overall" }, overallBar, overallText), summary, list);

  const totals = { bytes: 0, sent: 0, created: 0, duplicates: 0, failed: 0, files: 0 };
  let queue = [];
  let running = 0;

  function render() {
    overallBar.max = totals.bytes || 1;
    overallBar.value = totals.sent;
    overallText.textContent = totals.files ? `${bytes(totals.sent)} of ${bytes(totals.bytes)}` : "";
    summary.textContent = totals.files
      ? `${totals.created} uploaded · ${totals.duplicates} duplicate(s) · ${totals.failed} failed · ${totals.files} file(s)`
      : "";
  }

  async function start(files) {
    files = files.filter((f) => MEDIA.test(f.name) || /^(image|video)\//.test(f.type));
    if (!files.length) { toast("No photos or videos in that selection", "error"); return; }
    const items = files.map((file) => {
      const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Progress of ${file.name}` });
      const state = h("span", { class: "state" }, "Waiting");
      const row = h("li", { "data-name": file.name }, h("span", { class: "name" }, file.webkitRelativePath || file.name), bar, state);
      list.append(row);
      totals.bytes += file.size;
      totals.files++;
      return { file, bar, state, row };
    });
    render();
    // Hash in small batches and ask the server which it already has.
    for (let i = 0; i < items.length; i += 50) {
      const batch = items.slice(i, i + 50);
      for (const item of batch) {
        item.state.textContent = "Checking";
        item.checksum = item.file.size <= HASH_LIMIT ? await sha1Hex(item.file) : null;
      }
      let results = [];
      const hashed = batch.map((item, n) => ({ id: String(i + n), checksum: item.checksum })).filter((a) => a.checksum);
      if (!getSharedKey() && hashed.length) {
        try {
          results = (await api.post("/assets/bulk-upload-check", { assets: hashed })).results;
        } catch (err) { console.warn("bulk-upload-check", err); }
      }
      for (const [n, item] of batch.entries()) {
        const verdict = results.find((r) => r.id === String(i + n));
        if (verdict && verdict.action === "reject") finish(item, "duplicate", verdict.assetId);
        else queue.push(item);
      }
      pump();
    }
  }

  function finish(item, outcome, assetId) {
    item.row.className = outcome;
    item.state.textContent = outcome === "created" ? "Uploaded" : outcome === "duplicate" ? "Duplicate" : `Failed: ${assetId}`;
    item.bar.value = item.bar.max;
    if (outcome !== "failed") item.assetId = assetId;
    totals.sent += item.file.size - (item.sent || 0);
    item.sent = item.file.size;
    if (outcome === "created") totals.created++; else if (outcome === "duplicate") totals.duplicates++; else totals.failed++;
    render();
    if (outcome !== "failed" && albumId && assetId) api.put(`/albums/${albumId}/assets`, { ids: [assetId] }).catch(() => {});
    if (totals.created + totals.duplicates + totals.failed === totals.files) {
      toast(`Upload finished: ${totals.created} new, ${totals.duplicates} duplicate(s), ${totals.failed} failed`);
      onDone && onDone(totals);
    }
  }

  function pump() {
    while (running < CONCURRENCY && queue.length) {
      const item = queue.shift();
      running++;
      send(item).finally(() => { running--; pump(); });
    }
  }

  function send(item) {
    return new Promise((resolve) => {
      const form = new FormData();
      const modified = new Date(item.file.lastModified || Date.now()).toISOString();
      form.append("deviceAssetId", `web-${item.file.name}-${item.file.size}-${item.file.lastModified}`);
      form.append("deviceId", "WEB");
      form.append("fileCreatedAt", modified);
      form.append("fileModifiedAt", modified);
      form.append("isFavorite", "false");
      form.append("filename", item.file.name);
      form.append("assetData", item.file, item.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url("/assets"));
      if (item.checksum) xhr.setRequestHeader("x-immich-checksum", item.checksum);
      item.state.textContent = "Uploading";
      xhr.upload.onprogress = (e) => {
        const sent = Math.min(e.loaded, item.file.size);
        totals.sent += sent - (item.sent || 0);
        item.sent = sent;
        item.bar.value = sent;
        render();
      };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 200 || xhr.status === 201) finish(item, body.status === "duplicate" ? "duplicate" : "created", body.id);
        else finish(item, "failed", body.message || `HTTP ${xhr.status}`);
        resolve();
      };
      xhr.onerror = () => { finish(item, "failed", "network error"); resolve(); };
      xhr.send(form);
    });
  }

  return el;
}

/** Files from a drop, walking into dropped folders. */
async function droppedFiles(transfer) {
  const entries = [...(transfer.items || [])].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...transfer.files];
  const out = [];
  const walk = async (entry) => {
    if (entry.isFile) out.push(await new Promise((res, rej) => entry.file(res, rej)));
    else if (entry.isDirectory) {
      const reader = entry.createReader();
      let batch;
      do {
        batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        for (const child of batch) await walk(child);
      } while (batch.length);
    }
  };
  for (const entry of entries) await walk(entry);
  return out;
}
