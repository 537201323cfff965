// The viewer: one asset full screen, preview first then the original, video playback, next/previous with
// arrows and swipes, the metadata panel, and the actions. Escape closes it and gives focus back.

import { api, thumbUrl, originalUrl, videoUrl } from "./api.js";
import { h, bytes, icon } from "./ui.js";
import { setFavorite, moveToTrash, addToAlbum, shareAssets, download } from "./actions.js";

const WEB_IMAGES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/bmp", "image/svg+xml"];

export function openViewer(list, index, { onChange, readOnly = false, canDownload = true } = {}) {
  const returnFocus = document.activeElement;
  let current = index;
  let info = null;
  let showInfo = window.innerWidth > 900;
  const stage = h("div", { class: "stage" });
  const panel = h("aside", { class: "info", "aria-label": "Details" });
  const title = h("span", { class: "title" });
  const favButton = h("button", { type: "button", "aria-label": "Favourite", "aria-pressed": "false", onclick: toggleFav }, icon("heart"));
  const bar = h("div", { class: "viewer-bar" },
    h("button", { type: "button", "aria-label": "Close", onclick: close }, icon("close")), title,
    h("span", { class: "spacer" }),
    readOnly ? null : favButton,
    canDownload ? h("button", { type: "button", "aria-label": "Download", onclick: () => download([list[current].id]) }, icon("download")) : null,
    readOnly ? null : h("button", { type: "button", "aria-label": "Add to album", onclick: () => addToAlbum([list[current].id]) }, icon("plus")),
    readOnly ? null : h("button", { type: "button", "aria-label": "Share", onclick: () => shareAssets([list[current].id]) }, icon("share")),
    readOnly ? null : h("button", { type: "button", "aria-label": "Delete", onclick: remove }, icon("trash")),
    h("button", { type: "button", "aria-label": "Details", "aria-expanded": String(showInfo), onclick: (e) => {
      showInfo = !showInfo; e.currentTarget.setAttribute("aria-expanded", String(showInfo)); panel.hidden = !showInfo;
    } }, icon("info")));
  const prev = h("button", { type: "button", class: "nav prev", "aria-label": "Previous", onclick: () => go(-1) }, icon("left"));
  const next = h("button", { type: "button", class: "nav next", "aria-label": "Next", onclick: () => go(1) }, icon("right"));
  const root = h("div", { class: "viewer", role: "dialog", "aria-modal": "true", "aria-label": "Photo viewer", tabindex: "-1" },
    bar, h("div", { class: "viewer-body" }, stage, prev, next, panel));
  panel.hidden = !showInfo;
  document.body.append(root);
  document.body.classList.add("viewer-open");
  root.focus();

  function onKey(e) {
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "Escape") { e.preventDefault(); close(); }
    else if (e.key === "ArrowLeft") go(-1);
    else if (e.key === "ArrowRight") go(1);
    else if (e.key === "f" && !readOnly) toggleFav();
    else if (e.key === "i") panel.hidden = !panel.hidden;
  }
  document.addEventListener("keydown", onKey);
  // The browser's back button (or a phone's back gesture) closes the viewer rather than leaving the page.
  history.pushState({ shoeboxViewer: true }, "");
  const onPop = () => closeNow();
  window.addEventListener("popstate", onPop);

  let touchX = null;
  stage.addEventListener("pointerdown", (e) => { touchX = e.clientX; });
  stage.addEventListener("pointerup", (e) => {
    if (touchX === null) return;
    const dx = e.clientX - touchX;
    touchX = null;
    if (Math.abs(dx) > 60) go(dx < 0 ? 1 : -1);
  });

  function close() {
    closeNow();
    window.__shoeboxIgnorePop = true;  // our own step back; the page under the viewer stays as it is
    history.back();
  }

  function closeNow() {
    window.removeEventListener("popstate", onPop);
    document.removeEventListener("keydown", onKey);
    root.remove();
    document.body.classList.remove("viewer-open");
    if (returnFocus && returnFocus.isConnected && returnFocus.focus) returnFocus.focus();
    onChange && onChange({ closed: true, id: list[current] && list[current].id });
  }

  function go(step) {
    const target = current + step;
    if (target < 0 || target >= list.length) return;
    current = target;
    show();
  }

  async function toggleFav() {
    if (!info) return;
    const value = !info.isFavorite;
    await setFavorite([info.id], value);
    info.isFavorite = value;
    list[current].isFavorite = value;
    favButton.replaceChildren(icon("heart", value));
    favButton.setAttribute("aria-pressed", String(value));
    onChange && onChange({ changed: true });
  }

  async function remove() {
    const id = list[current].id;
    if (!(await moveToTrash([id]))) return;
    list.splice(current, 1);
    onChange && onChange({ changed: true });
    if (!list.length) { close(); return; }
    current = Math.min(current, list.length - 1);
    show();
  }

  async function show() {
    const asset = list[current];
    prev.hidden = current === 0;
    next.hidden = current === list.length - 1;
    stage.replaceChildren();
    info = null;
    panel.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    if (asset.isImage) {
      const img = h("img", { class: "photo", alt: "", src: thumbUrl(asset.id, "thumbnail") });
      img.addEventListener("error", () => { img.src = originalUrl(asset.id); }, { once: true });
      stage.append(img);
      const preview = new Image();
      preview.onload = () => { if (list[current] === asset) img.src = preview.src; };
      preview.src = thumbUrl(asset.id, "preview");
      asset.img = img;
    } else {
      stage.append(h("video", { class: "photo", controls: true, autoplay: true, playsinline: true,
        poster: thumbUrl(asset.id, "preview"), src: videoUrl(asset.id), "aria-label": "Video" }));
    }
    try {
      info = await api.get(`/assets/${asset.id}`);
    } catch (err) {
      panel.replaceChildren(h("p", { class: "error" }, err.message));
      return;
    }
    if (list[current] !== asset) return;
    title.textContent = info.originalFileName;
    favButton.replaceChildren(icon("heart", !!info.isFavorite));
    favButton.setAttribute("aria-pressed", String(!!info.isFavorite));
    if (asset.isImage && WEB_IMAGES.includes(info.originalMimeType)) {
      // Preview first, then the original for full detail (a phone photo is a few MB).
      const full = new Image();
      full.onload = () => { if (list[current] === asset) stage.querySelector("img").src = full.src; };
      full.src = originalUrl(asset.id);
    }
    panel.replaceChildren(details(info));
  }

  show();
  return { close };
}

function details(a) {
  const e = a.exifInfo || {};
  const when = new Date(a.localDateTime || a.fileCreatedAt);
  const rows = [];
  const add = (label, value) => { if (value) rows.push(h("dt", null, label), h("dd", null, value)); };
  add("Date", when.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short", timeZone: "UTC" }));
  add("File", `${a.originalFileName}` + (e.fileSizeInByte ? ` · ${bytes(e.fileSizeInByte)}` : ""));
  if (a.width && a.height) add("Size", `${a.width} × ${a.height}`);
  add("Camera", [e.make, e.model].filter(Boolean).join(" "));
  add("Lens", e.lensModel);
  const exposure = [
    e.fNumber ? `ƒ/${e.fNumber}` : "", e.exposureTime ? `${e.exposureTime} s` : "",
    e.focalLength ? `${e.focalLength} mm` : "", e.iso ? `ISO ${e.iso}` : "",
  ].filter(Boolean).join(" · ");
  add("Exposure", exposure);
  const place = [e.city, e.state, e.country].filter(Boolean).join(", ");
  if (e.latitude !== null && e.latitude !== undefined && e.longitude !== null && e.longitude !== undefined) {
    const coords = `${Number(e.latitude).toFixed(5)}, ${Number(e.longitude).toFixed(5)}`;
    rows.push(h("dt", null, "Place"), h("dd", null, place ? place + " · " : "", h("a", {
      href: `https://www.openstreetmap.org/?mlat=${e.latitude}&mlon=${e.longitude}#map=14/${e.latitude}/${e.longitude}`,
      target: "_blank", rel: "noopener" }, coords)), h("dd", null, miniMap(e.latitude, e.longitude)));
  } else add("Place", place);
  add("Description", e.description);
  return h("dl", null, rows);
}

/** A tiny offline "map": the point on an equirectangular world outline grid (no tiles needed). */
function miniMap(lat, lon) {
  const x = ((Number(lon) + 180) / 360) * 200;
  const y = ((90 - Number(lat)) / 180) * 100;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 200 100");
  svg.setAttribute("class", "minimap");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Location ${Number(lat).toFixed(2)}, ${Number(lon).toFixed(2)}`);
  svg.innerHTML = '<rect width="200" height="100" rx="4"/>' +
    [25, 50, 75].map((v) => `<line x1="0" y1="${v}" x2="200" y2="${v}"/>`).join("") +
    [50, 100, 150].map((v) => `<line x1="${v}" y1="0" x2="${v}" y2="100"/>`).join("") +
    `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3"/>`;
  return svg;
}

