// What one can do with photos, from the selection bar or the viewer. Each returns true when it changed something.

import { api, originalUrl, url } from "./api.js";
import { h, modal, toast, confirmDialog, copyField } from "./ui.js";

export async function setFavorite(ids, isFavorite) {
  await api.put("/assets", { ids, isFavorite });
  toast(isFavorite ? `Added ${ids.length} to favourites` : `Removed ${ids.length} from favourites`);
  return true;
}

export async function setArchived(ids, archived) {
  await api.put("/assets", { ids, visibility: archived ? "archive" : "timeline" });
  toast(archived ? `Archived ${ids.length}` : `Moved ${ids.length} back to the timeline`);
  return true;
}

export async function moveToTrash(ids) {
  const ok = await confirmDialog("Move to trash?", `${ids.length} item(s) will go to the trash. You can restore them from there.`, "Move to trash");
  if (!ok) return false;
  await api.del("/assets", { ids, force: false });
  toast(`Moved ${ids.length} to the trash`);
  return true;
}

export async function addToAlbum(ids) {
  const albums = await api.get("/albums");
  const choice = await modal("Add to album", (close) => {
    const name = h("input", { name: "albumName", placeholder: "New album name", "aria-label": "New album name" });
    const list = h("ul", { class: "album-pick" }, albums.map((a) =>
      h("li", null, h("button", { type: "button", onclick: () => close({ id: a.id, name: a.albumName }) },
        a.albumName, h("span", { class: "muted" }, ` · ${a.assetCount}`)))));
    const form = h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); if (name.value.trim()) close({ name: name.value.trim() }); } },
      name, h("button", { type: "submit", class: "primary" }, "Create"));
    return h("div", { class: "stack" }, form, albums.length ? list : h("p", { class: "muted" }, "No albums yet."),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close(null) }, "Cancel")));
  });
  if (!choice) return false;
  if (choice.id) {
    const results = await api.put(`/albums/${choice.id}/assets`, { ids });
    const added = results.filter((r) => r.success).length;
    toast(`Added ${added} to ${choice.name}` + (added < ids.length ? ` (${ids.length - added} already there)` : ""));
  } else {
    await api.post("/albums", { albumName: choice.name, assetIds: ids });
    toast(`Created album ${choice.name}`);
  }
  return true;
}

export async function download(ids, { albumId } = {}) {
  if (!albumId && ids.length === 1) { save(originalUrl(ids[0])); return false; }
  try {
    const info = await api.post("/download/info", albumId ? { albumId } : { assetIds: ids });
    for (const [index, archive] of info.archives.entries()) {
      const response = await fetch(url("/download/archive"), { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ assetIds: archive.assetIds }) });
      if (!response.ok) throw Object.assign(new Error("download failed"), { status: response.status });
      const blobUrl = URL.createObjectURL(await response.blob());
      save(blobUrl, `shoebox-${index + 1}.zip`);
      setTimeout(() => URL.revokeObjectURL(blobUrl), 60000);
    }
  } catch (err) {
    if (err.status !== 404) throw err;
    // No archive endpoint on this server yet: one file at a time.
    for (const id of ids) { save(originalUrl(id)); await new Promise((r) => setTimeout(r, 300)); }
  }
  return false;
}

function save(href, name = "") {
  const a = h("a", { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

export async function shareLink(body, title = "Share link") {
  let link;
  try {
    link = await api.post("/shared-links", { allowDownload: true, allowUpload: false, showMetadata: true, ...body });
  } catch (err) {
    if (err.status === 404) { toast("Sharing by link is not available on this server yet", "error"); return false; }
    throw err;
  }
  const address = `${location.origin}/share/${link.slug || link.key}`;
  await modal(title, (close) => h("div", { class: "stack" },
    h("p", null, "Anyone with this link can see these photos without an account."),
    copyField(address),
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: () => close() }, "Done"))));
  return false;
}

export function shareAssets(ids) { return shareLink({ type: "INDIVIDUAL", assetIds: ids }); }
