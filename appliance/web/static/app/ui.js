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

export function icon(name) {
  const span = h("span", { class: `icon icon-${name}`, "aria-hidden": "true" });
  return span;
}
