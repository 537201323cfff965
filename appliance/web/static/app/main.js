// The app shell: who is signed in, the header, the router, and the pages.

import { api, ApiError, isAuthenticated, setSharedKey } from "./api.js";
import { h, clear, toast, formDialog, confirmDialog, modal, bytes } from "./ui.js";
import { Grid, timelineSource, searchSource, listSource, groupByMonth, fromAssetDto, perf } from "./grid.js";

// Only what the first screen needs is loaded up front; the viewer, upload and actions come when used.
const lazy = (module, name) => async (...args) => (await import(module))[name](...args);
const openViewer = lazy("./viewer.js", "openViewer");
const setFavorite = lazy("./actions.js", "setFavorite");
const setArchived = lazy("./actions.js", "setArchived");
const moveToTrash = lazy("./actions.js", "moveToTrash");
const addToAlbum = lazy("./actions.js", "addToAlbum");
const download = lazy("./actions.js", "download");
const shareAssets = lazy("./actions.js", "shareAssets");
const shareLink = lazy("./actions.js", "shareLink");
const uploadPanelModule = () => import("./upload.js");

const state = { me: null, config: null, settings: null };
const main = document.getElementById("main");
const header = document.getElementById("header");
let cleanup = [];
window.__shoebox = { perf };

// --- router ------------------------------------------------------------------------------------
const routes = [
  [/^\/$/, home],
  [/^\/login$/, loginPage],
  [/^\/setup$/, setupPage],
  [/^\/photos$/, () => timelinePage("Photos", { visibility: "timeline" })],
  [/^\/photos\/([0-9a-f-]{36})$/, photoPage],
  [/^\/favorites$/, () => timelinePage("Favourites", { isFavorite: true }, { isFavorite: true })],
  [/^\/archive$/, () => timelinePage("Archive", { visibility: "archive" }, { visibility: "archive" })],
  [/^\/trash$/, trashPage],
  [/^\/albums$/, albumsPage],
  [/^\/albums\/([0-9a-f-]{36})$/, albumPage],
  [/^\/search$/, searchPage],
  [/^\/upload$/, uploadPage],
  [/^\/device$/, devicePage],
  [/^\/users$/, usersPage],
  [/^\/share\/([^/]+)$/, sharePage],
];
const PUBLIC = [/^\/login$/, /^\/setup$/, /^\/share\//];

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path); else history.pushState(null, "", path);
  route();
}

async function route() {
  for (const fn of cleanup) fn();
  cleanup = [];
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (!PUBLIC.some((re) => re.test(path)) && !state.me) {
    if (!(await ensureSignedIn())) return;
  }
  drawHeader(path);
  for (const [re, page] of routes) {
    const match = path.match(re);
    if (match) {
      clear(main);
      main.className = "";
      try { await page(...match.slice(1)); } catch (err) { showError(err); }
      const heading = main.querySelector("h1");
      if (heading) document.title = `${heading.textContent} · ${state.settings?.boxName || "Shoebox"}`;
      return;
    }
  }
  clear(main).append(h("section", { class: "page" }, h("h1", null, "Not found"), h("p", null, h("a", { href: "/photos" }, "Back to photos"))));
}

function showError(err) {
  console.error(err);
  if (err instanceof ApiError && err.status === 401) return;
  main.append(h("p", { class: "error", role: "alert" }, `Something went wrong: ${err.message}`));
}

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const a = e.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin || a.pathname.startsWith("/api/")) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener("popstate", () => {
  if (window.__shoeboxIgnorePop) { window.__shoeboxIgnorePop = false; return; }
  if (document.querySelector(".viewer")) return;  // the viewer closes itself on back
  route();
});
window.addEventListener("shoebox:unauthorized", () => {
  if (!state.me) return;
  state.me = null;
  toast("Your session ended; please sign in again", "error");
  navigate("/login", { replace: true });
});

async function ensureSignedIn() {
  // One round trip for all three when the cookie says we are signed in.
  const signedIn = isAuthenticated();
  const [config, me, settings] = await Promise.all([
    state.config || api.get("/server/config"),
    signedIn ? api.get("/users/me").catch(() => null) : null,
    signedIn ? api.optional("/appliance/settings").catch(() => null) : null,
  ]);
  state.config = config;
  if (!state.config.isInitialized) { navigate("/setup", { replace: true }); return false; }
  state.me = me;
  if (!state.me) { navigate("/login", { replace: true }); return false; }
  state.settings = settings;
  if (state.me.isAdmin && state.settings && !state.settings.setupCompleted && location.pathname !== "/setup") {
    navigate("/setup", { replace: true });
    return false;
  }
  return true;
}

function drawHeader(path) {
  if (!state.me || path.startsWith("/share/") || path === "/login" || path === "/setup") {
    header.hidden = true;
    return;
  }
  header.hidden = false;
  const link = (href, label) => h("a", { href, "aria-current": path.startsWith(href) ? "page" : null }, label);
  header.replaceChildren(
    h("a", { href: "/photos", class: "brand" }, state.settings?.boxName || "Shoebox"),
    h("nav", { "aria-label": "Main" },
      link("/photos", "Photos"), link("/albums", "Albums"), link("/search", "Search"), link("/favorites", "Favourites"),
      link("/archive", "Archive"), link("/trash", "Trash"), link("/upload", "Upload"),
      state.me.isAdmin ? link("/device", "Device") : null, state.me.isAdmin ? link("/users", "Users") : null),
    h("button", { type: "button", class: "link", onclick: logout, title: state.me.email }, "Sign out"));
}

async function logout() {
  try { await api.post("/auth/logout"); } catch { /* already gone */ }
  state.me = null;
  navigate("/login");
}

// --- first run and sign in ---------------------------------------------------------------------
async function home() { navigate("/photos", { replace: true }); }

async function loginPage() {
  state.config = state.config || await api.get("/server/config");
  if (!state.config.isInitialized) { navigate("/setup", { replace: true }); return; }
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h("form", { class: "card stack", "aria-label": "Sign in" },
    h("h1", null, "Sign in"),
    h("label", null, "Email", h("input", { name: "email", type: "email", required: true, autocomplete: "username" })),
    h("label", null, "Password", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
    error, h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      const login = await api.post("/auth/login", { email: data.email, password: data.password });
      state.me = null;
      if (login.shouldChangePassword) { changePasswordStep(data.password); return; }
      navigate("/photos");
    } catch (err) {
      error.hidden = false;
      error.textContent = err.status === 401 ? "Wrong email or password" : err.message;
    }
  });
  main.className = "centered";
  main.append(form);
  form.querySelector("input").focus();
}

function changePasswordStep(current) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h("form", { class: "card stack", "aria-label": "Choose a new password" },
    h("h1", null, "Choose your own password"),
    h("p", null, "Your password was set by the administrator. Please choose a new one."),
    h("label", null, "New password", h("input", { name: "newPassword", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    h("label", null, "New password again", h("input", { name: "confirm", type: "password", required: true, autocomplete: "new-password" })),
    error, h("button", { type: "submit", class: "primary" }, "Save password"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    if (data.newPassword !== data.confirm) { error.hidden = false; error.textContent = "The passwords differ"; return; }
    try {
      await api.post("/auth/change-password", { password: current, newPassword: data.newPassword });
      toast("Password changed");
      navigate("/photos");
    } catch (err) { error.hidden = false; error.textContent = err.message; }
  });
  clear(main).append(form);
  form.querySelector("input").focus();
}

async function setupPage() {
  state.config = await api.get("/server/config");
  main.className = "centered";
  if (!state.config.isInitialized) { adminStep(); return; }
  if (!state.me) {
    if (!isAuthenticated()) { navigate("/login", { replace: true }); return; }
    state.me = await api.get("/users/me");
  }
  if (!state.me.isAdmin) { navigate("/photos", { replace: true }); return; }
  await boxStep();
}

function adminStep() {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h("form", { class: "card stack", "aria-label": "Create the admin account" },
    h("h1", null, "Welcome to your Shoebox"),
    h("p", null, "First, create the administrator account. You can add family members afterwards."),
    h("label", null, "Your name", h("input", { name: "name", required: true, autocomplete: "name" })),
    h("label", null, "Email", h("input", { name: "email", type: "email", required: true, autocomplete: "username" })),
    h("label", null, "Password", h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    h("label", null, "Password again", h("input", { name: "confirm", type: "password", required: true, autocomplete: "new-password" })),
    error, h("button", { type: "submit", class: "primary" }, "Create account"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    error.hidden = true;
    if (data.password !== data.confirm) { error.hidden = false; error.textContent = "The passwords differ"; return; }
    try {
      await api.post("/auth/admin-sign-up", { name: data.name, email: data.email, password: data.password });
      await api.post("/auth/login", { email: data.email, password: data.password });
      state.config = null;
      state.me = await api.get("/users/me");
      clear(main);
      await boxStep();
    } catch (err) {
      error.hidden = false;
      error.textContent = err.message;
    }
  });
  main.append(form);
  form.querySelector("input").focus();
}

async function boxStep() {
  const settings = (await api.optional("/appliance/settings")) || { boxName: "Shoebox", advertiseOnLan: true, importAlbumMode: "none" };
  const users = await api.get("/users").catch(() => [state.me]);
  const form = h("form", { class: "card stack", "aria-label": "Set up the box" },
    h("h1", null, "Set up the box"),
    boxSettingsFields(settings, users),
    h("button", { type: "submit", class: "primary" }, "Finish"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      state.settings = await api.put("/appliance/settings", { ...boxSettingsValues(form), setupCompleted: true });
      toast("Your Shoebox is ready");
      navigate("/photos");
    } catch (err) { toast(err.message, "error"); }
  });
  main.append(form);
}

function boxSettingsFields(settings, users) {
  return [
    h("label", null, "Box name (how it appears on your network)",
      h("input", { name: "boxName", required: true, maxlength: 63, value: settings.boxName || "Shoebox" })),
    h("label", null, "Imports from cards and USB drives go to",
      h("select", { name: "importUserId" }, users.map((u) => h("option", { value: u.id, selected: u.id === (settings.importUserId || state.me.id) }, `${u.name}'s library`)))),
    h("label", null, "Put each import in",
      h("select", { name: "importAlbumMode" },
        h("option", { value: "none", selected: settings.importAlbumMode !== "per-import" }, "the timeline only"),
        h("option", { value: "per-import", selected: settings.importAlbumMode === "per-import" }, "a new album per import"))),
    h("label", { class: "check-row" }, h("input", { type: "checkbox", name: "advertiseOnLan", checked: settings.advertiseOnLan !== false }),
      "Let phones and computers on this network find the box"),
  ];
}

function boxSettingsValues(form) {
  const data = new FormData(form);
  return { boxName: data.get("boxName"), importUserId: data.get("importUserId"), importAlbumMode: data.get("importAlbumMode"),
    advertiseOnLan: data.get("advertiseOnLan") === "on" };
}

// --- photo grids -------------------------------------------------------------------------------
function selectionBar(grid, actions) {
  const count = h("span", { class: "count", "aria-live": "polite" });
  const bar = h("div", { class: "selection-bar", hidden: true, role: "toolbar", "aria-label": "Selected photos" },
    h("button", { type: "button", "aria-label": "Clear selection", onclick: () => grid.clearSelection() }, "✕"), count,
    h("span", { class: "spacer" }),
    actions.map(([label, fn]) => h("button", { type: "button", onclick: async () => {
      const ids = [...grid.selected];
      try { if (await fn(ids)) { grid.clearSelection(); await grid.reload(); } } catch (err) { toast(err.message, "error"); }
    } }, label)));
  grid.onSelectionChange = (selected) => {
    bar.hidden = selected.size === 0;
    count.textContent = `${selected.size} selected`;
  };
  return bar;
}

const COMMON_ACTIONS = [
  ["Favourite", (ids) => setFavorite(ids, true)],
  ["Add to album", addToAlbum],
  ["Share", shareAssets],
  ["Download", download],
  ["Delete", moveToTrash],
];

const LANDING = { visibility: "timeline", withStacked: true };
// The landing page's data is asked for while the session is being checked, not after.
let landingPrefetch = null;
if (isAuthenticated() && /^\/(photos)?\/?$/.test(location.pathname)) {
  landingPrefetch = timelineSource(LANDING).catch(() => null);
}

async function makeSource(timelineParams, searchFilters) {
  let source = null;
  if (landingPrefetch && JSON.stringify(timelineParams) === JSON.stringify(LANDING)) {
    source = await landingPrefetch;
    landingPrefetch = null;
  } else {
    source = await timelineSource(timelineParams);
  }
  if (source) return source;
  // No timeline endpoints on this server: page through /search/metadata, a small first page for a fast start.
  const fallback = searchSource(searchFilters);
  fallback.initial = groupByMonth(await fallback.more());
  return fallback;
}

function mountGrid(source, { actions, emptyText, reload, readOnly = false, canDownload = true } = {}) {
  const grid = new Grid({ source, emptyText, onOpen: (asset, g) => {
    const list = g.loadedAssets();
    openViewer(list, list.indexOf(asset), { readOnly, canDownload, onChange: async (e) => {
      if (e.changed) changed = true;
      if (!e.closed) return;
      if (changed) { changed = false; await grid.reload(); }
      grid.focusAsset(e.id);  // back to the photo the person ended on
    } });
  } });
  let changed = false;
  grid.reload = async () => {
    if (!reload) return;
    const fresh = await reload();
    const top = grid.scroller.scrollTop;
    grid.source = fresh;
    grid.setBuckets((fresh.initial || []).map((b) => ({ ...b })));
    grid.scroller.scrollTop = top;
  };
  cleanup.push(() => grid.destroy());
  main.className = "grid-page";
  if (actions) main.append(selectionBar(grid, actions));
  main.append(grid.el);
  requestAnimationFrame(() => grid.relayout());
  return grid;
}

async function timelinePage(title, params, filters = params) {
  const reload = () => makeSource({ ...params, withStacked: true }, filters);
  const toolbar = h("div", { class: "toolbar" }, h("h1", null, title), h("span", { class: "spacer" }),
    title === "Photos" ? h("a", { href: "/upload", class: "button" }, "Upload") : null);
  main.append(toolbar);
  const actions = [...COMMON_ACTIONS];
  if (params.visibility === "archive") actions.splice(1, 0, ["Unarchive", (ids) => setArchived(ids, false)]);
  else actions.splice(1, 0, ["Archive", (ids) => setArchived(ids, true)]);
  if (params.isFavorite) actions[0] = ["Unfavourite", (ids) => setFavorite(ids, false)];
  mountGrid(await reload(), { actions, reload, emptyText: title === "Photos" ? "No photos yet. Upload some, or plug in a camera card." : "Nothing here yet." });
}

async function photoPage(id) {
  await timelinePage("Photos", { visibility: "timeline" });
  const asset = await api.get(`/assets/${id}`);
  history.replaceState(null, "", "/photos");
  openViewer([fromAssetDto(asset)], 0);
}

async function trashPage() {
  const reload = () => makeSource({ isTrashed: true }, { withDeleted: true, trashedAfter: "1970-01-01T00:00:00.000Z" });
  main.append(h("div", { class: "toolbar" }, h("h1", null, "Trash"), h("span", { class: "spacer" }),
    h("button", { type: "button", onclick: async () => {
      if (!(await confirmDialog("Empty the trash?", "Everything in the trash will be deleted for good.", "Empty trash"))) return;
      const r = await api.post("/trash/empty");
      toast(`Deleted ${r.count} for good`);
      grid.reload();
    } }, "Empty trash")));
  const grid = mountGrid(await reload(), { reload, emptyText: "The trash is empty.", actions: [
    ["Restore", async (ids) => { const r = await api.post("/trash/restore/assets", { ids }); toast(`Restored ${r.count}`); return true; }],
  ] });
}

// --- albums ------------------------------------------------------------------------------------
async function albumsPage() {
  const [own, shared] = await Promise.all([api.get("/albums"), api.get("/albums", { shared: true })]);
  const seen = new Set(own.map((a) => a.id));
  const all = [...own, ...shared.filter((a) => !seen.has(a.id))];
  const newButton = h("button", { type: "button", class: "primary", onclick: async () => {
    const data = await formDialog("New album", [{ name: "albumName", label: "Name", required: true }], "Create");
    if (!data) return;
    const album = await api.post("/albums", { albumName: data.albumName });
    navigate(`/albums/${album.id}`);
  } }, "New album");
  const cards = all.map((a) => h("li", null, h("a", { href: `/albums/${a.id}`, class: "album-card" },
    h("div", { class: "cover" }, a.albumThumbnailAssetId ? h("img", { alt: "", loading: "lazy",
      src: `/api/assets/${a.albumThumbnailAssetId}/thumbnail`, onerror: (e) => e.target.remove() }) : null),
    h("strong", null, a.albumName),
    h("span", { class: "muted" }, `${a.assetCount} item(s)` + (a.ownerId !== state.me.id ? ` · shared by ${a.owner.name}` : a.shared ? " · shared" : "")))));
  main.append(h("section", { class: "page" },
    h("div", { class: "toolbar" }, h("h1", null, "Albums"), h("span", { class: "spacer" }), newButton),
    all.length ? h("ul", { class: "albums" }, cards) : h("p", { class: "empty" }, "No albums yet. Create one, or select photos and choose “Add to album”.")));
}

/** An album's photos: through the timeline endpoints when the server has them (big imports stay light),
 * else the album's own asset list. */
async function albumSource(id) {
  return (await timelineSource({ albumId: id })) || listSource((await api.get(`/albums/${id}`)).assets || []);
}

async function albumPage(id) {
  const album = await api.get(`/albums/${id}`, { withoutAssets: true });
  const owner = album.ownerId === state.me.id;
  const title = h("h1", null, album.albumName);
  const reload = () => albumSource(id);
  const buttons = [
    owner ? h("button", { type: "button", onclick: async () => {
      const data = await formDialog("Rename album", [{ name: "albumName", label: "Name", value: album.albumName, required: true }]);
      if (!data) return;
      const updated = await api.patch(`/albums/${id}`, { albumName: data.albumName });
      album.albumName = updated.albumName;
      title.textContent = updated.albumName;
      toast("Album renamed");
    } }, "Rename") : null,
    h("button", { type: "button", onclick: () => uploadInto() }, "Upload here"),
    owner ? h("button", { type: "button", onclick: () => shareWithUsers(album) }, "Share with people") : null,
    owner ? h("button", { type: "button", onclick: () => shareLink({ type: "ALBUM", albumId: id }, "Share album link") }, "Share link") : null,
    owner ? h("button", { type: "button", class: "danger", onclick: async () => {
      if (!(await confirmDialog("Delete album?", "The photos stay in your library.", "Delete album"))) return;
      await api.del(`/albums/${id}`);
      navigate("/albums");
    } }, "Delete") : null,
  ];
  main.append(h("div", { class: "toolbar" }, h("a", { href: "/albums", "aria-label": "Back to albums", class: "button" }, "‹"), title,
    h("span", { class: "muted" }, `${album.assetCount} item(s)`), h("span", { class: "spacer" }), buttons));
  const grid = mountGrid(await albumSource(id), { reload, emptyText: "This album is empty. Select photos in Photos and choose “Add to album”, or upload here.", actions: [
    ["Remove from album", async (ids) => { await api.del(`/albums/${id}/assets`, { ids }); toast(`Removed ${ids.length}`); return true; }],
    ["Favourite", (ids) => setFavorite(ids, true)],
    ["Download", download],
  ] });
  async function uploadInto() {
    const { uploadPanel } = await uploadPanelModule();
    await modal(`Upload to ${album.albumName}`, (close) => h("div", { class: "stack" },
      uploadPanel({ albumId: id, onDone: () => setTimeout(() => grid.reload(), 300) }),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "Close"))));
    grid.reload();
  }
}

async function shareWithUsers(album) {
  const users = (await api.get("/users")).filter((u) => u.id !== state.me.id);
  const current = new Map((album.albumUsers || []).filter((m) => m.role !== "owner").map((m) => [m.user.id, m.role]));
  const result = await modal("Share with people", (close) => {
    if (!users.length) return h("div", null, h("p", null, "There is nobody else on this box yet. An admin can add people on the Users page."),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "OK")));
    const form = h("form", { class: "stack" }, users.map((u) => h("div", { class: "row" },
      h("label", { class: "check-row grow" }, h("input", { type: "checkbox", name: `u-${u.id}`, checked: current.has(u.id), disabled: current.has(u.id) }), `${u.name} (${u.email})`),
      h("select", { name: `r-${u.id}`, "aria-label": `Role of ${u.name}` },
        h("option", { value: "editor", selected: current.get(u.id) === "editor" }, "can add photos"),
        h("option", { value: "viewer", selected: current.get(u.id) !== "editor" }, "can view")))),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Share")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = new FormData(form);
      close(users.filter((u) => data.get(`u-${u.id}`) === "on" && !current.has(u.id)).map((u) => ({ userId: u.id, role: data.get(`r-${u.id}`) })));
    });
    return form;
  });
  if (result && result.length) {
    await api.put(`/albums/${album.id}/users`, { albumUsers: result });
    toast(`Shared with ${result.length} person(s)`);
  }
}

// --- search ------------------------------------------------------------------------------------
async function searchPage() {
  const tags = await api.optional("/tags").catch(() => null);
  const form = h("form", { class: "search-form", role: "search" },
    h("label", null, "File name", h("input", { name: "originalFileName", type: "search" })),
    h("label", null, "From", h("input", { name: "takenAfter", type: "date" })),
    h("label", null, "To", h("input", { name: "takenBefore", type: "date" })),
    h("label", null, "City", h("input", { name: "city" })),
    h("label", null, "Country", h("input", { name: "country" })),
    h("label", null, "Camera make", h("input", { name: "make" })),
    h("label", null, "Camera model", h("input", { name: "model" })),
    h("label", null, "Type", h("select", { name: "type" }, h("option", { value: "" }, "Photos and videos"),
      h("option", { value: "IMAGE" }, "Photos"), h("option", { value: "VIDEO" }, "Videos"))),
    tags && tags.length ? h("label", null, "Tag", h("select", { name: "tagId" }, h("option", { value: "" }, "Any"),
      tags.map((t) => h("option", { value: t.id }, t.value || t.name)))) : null,
    h("label", { class: "check-row" }, h("input", { type: "checkbox", name: "isFavorite" }), "Favourites only"),
    h("button", { type: "submit", class: "primary" }, "Search"));
  const results = h("div", { class: "results" });
  const status = h("p", { class: "muted", role: "status" });
  main.append(h("div", { class: "toolbar" }, h("h1", null, "Search")), form, status, results);
  main.className = "grid-page";
  let grid = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const filters = {};
    for (const key of ["originalFileName", "city", "country", "make", "model", "type"]) if (data.get(key)) filters[key] = data.get(key).trim();
    if (data.get("takenAfter")) filters.takenAfter = new Date(data.get("takenAfter") + "T00:00:00Z").toISOString();
    if (data.get("takenBefore")) filters.takenBefore = new Date(data.get("takenBefore") + "T23:59:59.999Z").toISOString();
    if (data.get("isFavorite") === "on") filters.isFavorite = true;
    if (data.get("tagId")) filters.tagIds = [data.get("tagId")];
    if (grid) { grid.destroy(); grid.el.remove(); }
    const source = searchSource(filters);
    // Immich's search `total` counts one page; /search/statistics counts every match.
    const [first, stats] = await Promise.all([source.more(), api.post("/search/statistics", filters).catch(() => null)]);
    status.textContent = `${stats ? stats.total : first.length} result(s)`;
    source.initial = groupByMonth(first);
    grid = new Grid({ source, emptyText: "Nothing matches.", onOpen: (asset, g) => { const list = g.loadedAssets(); openViewer(list, list.indexOf(asset)); } });
    results.replaceChildren(selectionBar(grid, COMMON_ACTIONS), grid.el);
    grid.reload = async () => form.requestSubmit();
    cleanup.push(() => grid.destroy());
    requestAnimationFrame(() => grid.relayout());
  });
}

// --- upload ------------------------------------------------------------------------------------
async function uploadPage() {
  const { uploadPanel } = await uploadPanelModule();
  main.append(h("section", { class: "page" }, h("div", { class: "toolbar" }, h("h1", null, "Upload")),
    uploadPanel({ onDone: () => {} }), h("p", null, h("a", { href: "/photos" }, "See your photos"))));
}

// --- device (admin) ----------------------------------------------------------------------------
async function devicePage() {
  if (!state.me.isAdmin) { navigate("/photos", { replace: true }); return; }
  const sections = {
    box: h("section", { class: "card", "aria-labelledby": "box-h" }, h("h2", { id: "box-h" }, "Box")),
    hardware: h("section", { class: "card", "aria-labelledby": "hw-h" }, h("h2", { id: "hw-h" }, "Hardware")),
    storage: h("section", { class: "card", "aria-labelledby": "st-h" }, h("h2", { id: "st-h" }, "Storage")),
    jobs: h("section", { class: "card wide", "aria-labelledby": "jobs-h" }, h("h2", { id: "jobs-h" }, "Background jobs")),
    imports: h("section", { class: "card wide", "aria-labelledby": "imp-h" }, h("h2", { id: "imp-h" }, "Imports")),
    others: h("section", { class: "card wide", "aria-labelledby": "oth-h", hidden: true }, h("h2", { id: "oth-h" }, "Services")),
  };
  main.append(h("section", { class: "page" }, h("div", { class: "toolbar" }, h("h1", null, "Device")),
    h("div", { class: "cards" }, Object.values(sections))));
  const body = (key, ...content) => {
    const section = sections[key];
    section.replaceChildren(section.firstChild, ...content.flat().filter(Boolean));
  };
  const notYet = (what) => h("p", { class: "muted not-available" }, `${what}: not available yet on this server.`);

  async function refresh() {
    const [about, settings, status, storage, stats, jobs, imports] = await Promise.all([
      api.optional("/server/about"), api.optional("/appliance/settings"), api.optional("/appliance/status"),
      api.optional("/server/storage"), api.optional("/server/statistics"), api.optional("/jobs"),
      api.optional("/appliance/imports"),
    ].map((p) => p.catch(() => null)));
    if (!document.body.contains(sections.box)) return;
    body("box", boxCard(about, settings, status));
    body("hardware", status && status.hardware ? hardwareCard(status.hardware) : notYet("Board, temperature and encoder status"));
    const others = status ? Object.entries(status).filter(([k]) => !["version", "immichApi", "storage", "hardware"].includes(k)) : [];
    sections.others.hidden = !others.length;
    if (others.length) body("others", keyValues(Object.fromEntries(others)));
    body("storage", storage ? storageCard(storage, stats) : notYet("Disk space"));
    body("jobs", jobs ? jobsTable(jobs, refresh) : notYet("Job queues"));
    body("imports", imports ? importsTable(imports) : notYet("Import sessions"));
  }
  await refresh();
  const timer = setInterval(refresh, 5000);
  cleanup.push(() => clearInterval(timer));
  // Import progress as it happens (Server-Sent Events), when this box has the import service.
  if (sections.imports.querySelector("table, p:not(.not-available)") && window.EventSource) {
    const events = new EventSource("/api/appliance/imports/events");
    let pending = null;
    const redraw = () => {
      if (pending) return;
      pending = setTimeout(async () => {
        pending = null;
        const sessions = await api.optional("/appliance/imports").catch(() => null);
        if (sessions && document.body.contains(sections.imports)) body("imports", importsTable(sessions));
      }, 250);
    };
    for (const kind of ["started", "progress", "finished", "error"]) events.addEventListener(kind, redraw);
    cleanup.push(() => { events.close(); clearTimeout(pending); });
  }
}

function hardwareCard(hw) {
  const dl = h("dl", null);
  const add = (k, v) => { if (v !== undefined && v !== null && v !== "") dl.append(h("dt", null, k), h("dd", null, v)); };
  add("Board", hw.board ? hw.board.model || hw.board.id : null);
  add("Profile", hw.profile);
  add("Memory", hw.memoryMb ? `${(hw.memoryMb / 1024).toFixed(1)} GB` : null);
  add("CPU cores", hw.cpuCores ? String(hw.cpuCores) : null);
  if (hw.thermal) add("Temperature", hw.thermal.celsius === null || hw.thermal.celsius === undefined ? "no sensor" : `${Number(hw.thermal.celsius).toFixed(1)} °C`);
  if (hw.throttle) {
    const state = String(hw.throttle.state || "").toLowerCase();
    add("Throttle", h("span", { class: `state-${state}` }, hw.throttle.state === "OK" || !hw.throttle.reason ? state || "ok" : `${state}: ${hw.throttle.reason}`));
  }
  const encoders = hw.encoders || {};
  const usable = (encoders.encoders || []).filter((e) => e.usable).map((e) => e.name);
  add("Video encoder", encoders.chosen ? `${encoders.chosen}` + (usable.length > 1 ? ` (usable: ${usable.join(", ")})` : "") : null);
  return [dl, h("details", null, h("summary", null, "All details"), keyValues(hw))];
}

function boxCard(about, settings, status) {
  const dl = h("dl", null);
  const add = (k, v) => { if (v !== undefined && v !== null && v !== "") dl.append(h("dt", null, k), h("dd", null, v)); };
  if (settings) {
    add("Name", settings.boxName);
    add("Network name", settings.advertiseOnLan ? `${settings.boxName} (advertised on the LAN)` : "not advertised");
  }
  if (status && !about) add("Version", `Shoebox ${status.version} · Immich API ${status.immichApi}`);
  if (about) { add("Version", `${about.version} (${about.build || ""})`); add("libvips", about.libvips); add("ffmpeg", about.ffmpeg); add("exiftool", about.exiftool); }
  const edit = h("button", { type: "button", onclick: async () => {
    const users = await api.get("/users").catch(() => [state.me]);
    const result = await modal("Box settings", (close) => {
      const form = h("form", { class: "stack" }, boxSettingsFields(settings || {}, users),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Save")));
      form.addEventListener("submit", (e) => { e.preventDefault(); close(boxSettingsValues(form)); });
      return form;
    });
    if (!result) return;
    try { state.settings = await api.put("/appliance/settings", result); toast("Saved"); navigate("/device", { replace: true }); }
    catch (err) { toast(err.message, "error"); }
  } }, "Change settings");
  return [dl, settings ? edit : null];
}

function keyValues(data, depth = 0) {
  const dl = h("dl", { class: depth ? "nested" : null });
  for (const [key, value] of Object.entries(data)) {
    const label = key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ");
    let shown;
    if (value === null || value === undefined) shown = "–";
    else if (typeof value === "object" && depth < 2) shown = Array.isArray(value) && value.every((v) => typeof v !== "object") ? value.join(", ") : keyValues(value, depth + 1);
    else if (typeof value === "object") shown = JSON.stringify(value);
    else if (typeof value === "boolean") shown = value ? "yes" : "no";
    else shown = String(value);
    dl.append(h("dt", null, label), h("dd", null, shown));
  }
  return dl;
}

function storageCard(s, stats) {
  const pct = Number(s.diskUsagePercentage) || 0;
  return [
    h("div", { class: "meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": "Disk used" },
      h("div", { style: `width:${Math.min(100, pct)}%` })),
    h("p", null, `${s.diskUse} used of ${s.diskSize} · ${s.diskAvailable} free (${pct}%)`),
    stats ? h("p", { class: "muted" }, `${stats.photos} photos, ${stats.videos} videos, ${bytes(stats.usage)} in the library`) : null,
  ];
}

function jobsTable(jobs, refresh) {
  const rows = Object.entries(jobs).map(([name, q]) => {
    const c = q.jobCounts || {};
    const paused = q.queueStatus && q.queueStatus.isPaused;
    return h("tr", { "data-queue": name },
      h("th", { scope: "row" }, humanize(name)),
      h("td", null, String(c.active ?? 0)), h("td", null, String(c.waiting ?? 0)), h("td", null, String(c.failed ?? 0)),
      h("td", null, paused ? "paused" : q.queueStatus && q.queueStatus.isActive ? "running" : "idle"),
      h("td", null, h("button", { type: "button", class: "small", "aria-label": `${paused ? "Resume" : "Pause"} ${name}`, onclick: async () => {
        try { await api.put(`/jobs/${name}`, { command: paused ? "resume" : "pause", force: false }); await refresh(); }
        catch (err) { toast(err.message, "error"); }
      } }, paused ? "Resume" : "Pause")));
  });
  return h("div", { class: "table-wrap" }, h("table", null,
    h("thead", null, h("tr", null, ["Queue", "Active", "Waiting", "Failed", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, rows)));
}

/** "thumbnailGeneration" → "Thumbnail generation". */
function humanize(name) {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function importsTable(sessions) {
  if (!sessions.length) return h("p", { class: "muted" }, "No imports yet. Plug in a camera card or USB drive.");
  return h("div", { class: "table-wrap" }, h("table", null,
    h("thead", null, h("tr", null, ["Source", "State", "Imported", "Duplicates", "Failed", "Size", "Started"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, sessions.map((s) => h("tr", null,
      h("td", null, s.label || s.device || s.path || s.kind), h("td", null, s.state),
      h("td", null, `${s.imported} / ${s.found}`), h("td", null, String(s.duplicates)), h("td", null, String(s.failed)),
      h("td", null, s.totalBytes ? `${bytes(s.bytes)} / ${bytes(s.totalBytes)}` : bytes(s.bytes)),
      h("td", null, s.startedAt ? new Date(s.startedAt).toLocaleString() : ""))))));
}

// --- users (admin) -----------------------------------------------------------------------------
async function usersPage() {
  if (!state.me.isAdmin) { navigate("/photos", { replace: true }); return; }
  const users = await api.get("/admin/users");
  const GB = 1024 ** 3;
  const rows = users.map((u) => h("tr", null,
    h("td", null, u.name), h("td", null, u.email), h("td", null, u.isAdmin ? "admin" : "member"),
    h("td", null, `${bytes(u.quotaUsageInBytes || 0)}` + (u.quotaSizeInBytes ? ` of ${bytes(u.quotaSizeInBytes)}` : " (no limit)")),
    h("td", { class: "row" },
      h("button", { type: "button", class: "small", onclick: async () => {
        const data = await formDialog(`Storage limit for ${u.name}`, [{ name: "quota", label: "Limit in GB (empty: no limit)", type: "number", min: 0, step: "0.1", value: u.quotaSizeInBytes ? (u.quotaSizeInBytes / GB).toFixed(1) : "" }]);
        if (!data) return;
        await api.put(`/admin/users/${u.id}`, { quotaSizeInBytes: data.quota ? Math.round(Number(data.quota) * GB) : null });
        toast("Limit saved"); navigate("/users", { replace: true });
      } }, "Limit"),
      h("button", { type: "button", class: "small", onclick: async () => {
        const data = await formDialog(`New password for ${u.name}`, [{ name: "password", label: "Temporary password", type: "password", required: true }], "Reset");
        if (!data) return;
        await api.put(`/admin/users/${u.id}`, { password: data.password, shouldChangePassword: true });
        toast(`Password reset; ${u.name} will choose a new one at next sign-in`);
      } }, "Reset password"),
      u.id === state.me.id ? null : h("button", { type: "button", class: "small danger", onclick: async () => {
        if (!(await confirmDialog(`Delete ${u.name}?`, "Their photos will be deleted after a grace period.", "Delete"))) return;
        await api.del(`/admin/users/${u.id}`, { force: false });
        toast(`${u.name} deleted`); navigate("/users", { replace: true });
      } }, "Delete"))));
  const create = h("button", { type: "button", class: "primary", onclick: async () => {
    const data = await formDialog("Add a person", [
      { name: "name", label: "Name", required: true }, { name: "email", label: "Email", type: "email", required: true },
      { name: "password", label: "Temporary password", type: "password", required: true },
      { name: "quota", label: "Storage limit in GB (empty: no limit)", type: "number", min: 0, step: "0.1" }], "Add");
    if (!data) return;
    try {
      await api.post("/admin/users", { name: data.name, email: data.email, password: data.password, shouldChangePassword: true,
        quotaSizeInBytes: data.quota ? Math.round(Number(data.quota) * GB) : null });
      toast(`${data.name} can now sign in`); navigate("/users", { replace: true });
    } catch (err) { toast(err.message, "error"); }
  } }, "Add a person");
  main.append(h("section", { class: "page" }, h("div", { class: "toolbar" }, h("h1", null, "Users"), h("span", { class: "spacer" }), create),
    h("div", { class: "table-wrap" }, h("table", null,
      h("thead", null, h("tr", null, ["Name", "Email", "Role", "Storage", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows)))));
}

// --- shared links (no account) -----------------------------------------------------------------
async function sharePage(key) {
  setSharedKey(key);
  header.hidden = true;
  let link;
  try {
    link = await api.get("/shared-links/me");
  } catch (err) {
    if (err.status === 401 && /password/i.test(err.message)) { sharePassword(key); return; }
    main.append(h("section", { class: "page centered" }, h("h1", null, "This link does not work"),
      h("p", null, err.status === 404 ? "Sharing by link is not available on this server yet." : "It may have expired or been removed.")));
    return;
  }
  let source = listSource(link.assets || []);
  let title = link.description || "Shared photos";
  let count = (link.assets || []).length;
  if (link.album) {
    title = link.album.albumName;
    count = link.album.assetCount ?? count;
    source = (await timelineSource({ albumId: link.album.id }).catch(() => null))
      || listSource((await api.get(`/albums/${link.album.id}`).catch(() => ({ assets: link.assets || [] }))).assets || []);
  }
  const everything = () => (source.initial || []).flatMap((b) => b.assets || []).map((a) => a.id);
  const canDownload = link.allowDownload !== false;
  main.append(h("div", { class: "toolbar" }, h("h1", null, title), h("span", { class: "muted" }, `${count} item(s)`),
    h("span", { class: "spacer" }),
    link.allowUpload ? h("button", { type: "button", onclick: async () => {
      const { uploadPanel } = await uploadPanelModule();
      await modal(`Add photos to ${title}`, (close) => h("div", { class: "stack" }, uploadPanel({}),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "Close"))));
      route();
    } }, "Add photos") : null,
    canDownload && count ? h("button", { type: "button", onclick: () => download(everything(), { albumId: link.album?.id }) }, "Download all") : null));
  mountGrid(source, { readOnly: true, canDownload, emptyText: "Nothing shared here." });
}

function sharePassword(key) {
  const form = h("form", { class: "card stack" }, h("h1", null, "This link is protected"),
    h("label", null, "Password", h("input", { name: "password", type: "password", required: true })),
    h("button", { type: "submit", class: "primary" }, "Open"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api.post("/shared-links/login", { password: new FormData(form).get("password") }, { key }); route(); }
    catch { toast("Wrong password", "error"); }
  });
  main.className = "centered";
  main.append(form);
}

route();
