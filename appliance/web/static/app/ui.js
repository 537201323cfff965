// Small DOM helpers: element builder, toasts, modal dialogs, formatting.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) { el.replaceChildren(); return el; }

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 3500);
}

/** A modal dialog (native <dialog>): resolves with the value passed to close(), or null on Escape. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "modal", "aria-label": title });
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value ?? null); };
    dialog.append(h("h2", null, title), build(close));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("input, select, button, textarea");
    if (first) first.focus();
  });
}

export function confirmDialog(title, text, action = "OK") {
  return modal(title, (close) => h("div", null,
    h("p", null, text),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
      h("button", { type: "button", class: "primary", onclick: () => close(true) }, action))));
}

export function formDialog(title, fields, submitLabel = "Save") {
  return modal(title, (close) => {
    const form = h("form", { class: "stack" });
    for (const f of fields) {
      form.append(h("label", null, f.label,
        h("input", { name: f.name, type: f.type || "text", value: f.value ?? "", required: f.required,
          autocomplete: f.autocomplete || "off", min: f.min, step: f.step })));
    }
    form.append(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, submitLabel)));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      close(Object.fromEntries(new FormData(form).entries()));
    });
    return form;
  });
}

export function copyField(value) {
  const input = h("input", { value, readonly: true, "aria-label": "Link", class: "copy" });
  return h("div", { class: "row" }, input,
    h("button", { type: "button", onclick: async () => {
      input.select();
      try { await navigator.clipboard.writeText(value); toast("Link copied"); }
      catch { document.execCommand("copy"); toast("Link copied"); }
    } }, "Copy"));
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];

export function monthLabel(key) {
  const [y, m] = key.split("-");
  return `${MONTHS[Number(m) - 1] || ""} ${y}`;
}

export function dayLabel(key) {
  const d = new Date(key + "T12:00:00Z");
  if (Number.isNaN(d.getTime())) return key;
  return d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric",
    timeZone: "UTC" });
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function duration(ms) {
  if (!ms) return "";
  const s = Math.round(Number(ms) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const ICONS = {
  close: "M6 6l12 12M18 6L6 18",
  heart: "M12 20s-7-4.4-8.8-8.6A4.8 4.8 0 0 1 12 6.6a4.8 4.8 0 0 1 8.8 4.8C19 15.6 12 20 12 20z",
  download: "M12 4v11m-5-5 5 5 5-5M5 20h14",
  plus: "M12 5v14M5 12h14",
  share: "M5 12v7h14v-7M12 3v12M7.5 7.5 12 3l4.5 4.5",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13",
  info: "M12 22a10 10 0 1 1 0-20 10 10 0 0 1 0 20zM12 11v6M12 7v1",
  left: "M15 5l-7 7 7 7",
  right: "M9 5l7 7-7 7",
};

/** An inline SVG icon (no icon font to download); the button around it carries the aria-label. */
export function icon(name, filled = false) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon${filled ? " filled" : ""}`);
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}
