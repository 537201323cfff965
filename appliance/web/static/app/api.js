// The Immich API as the page uses it: JSON in and out, Immich's error bodies turned into ApiError.
// On a shared-link page every call carries the link's key (`?key=`), which is how Immich scopes it.

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && body.message ? [].concat(body.message).join("; ") : `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

let sharedKey = null;
export function setSharedKey(key) { sharedKey = key; }
export function getSharedKey() { return sharedKey; }

export function url(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    query.set(k, String(v));
  }
  if (sharedKey && !query.has("key")) query.set("key", sharedKey);
  const text = query.toString();
  return "/api" + path + (text ? "?" + text : "");
}

export async function request(method, path, { body, params, raw } = {}) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const target = url(path, params);
  const early = method === "GET" && window.__early && window.__early[target];
  if (early) delete window.__early[target];
  const response = await (early || fetch(target, init));
  if (raw) {
    if (!response.ok) throw new ApiError(response.status, await safeJson(response));
    return response;
  }
  const data = response.status === 204 ? null : await safeJson(response);
  if (!response.ok) {
    if (response.status === 401 && !sharedKey && !path.startsWith("/auth/")) window.dispatchEvent(new CustomEvent("shoebox:unauthorized"));
    throw new ApiError(response.status, data);
  }
  return data;
}

async function safeJson(response) {
  const text = await response.text();
  try { return text ? JSON.parse(text) : null; } catch { return { message: text }; }
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body, params) => request("POST", path, { body: body ?? {}, params }),
  put: (path, body, params) => request("PUT", path, { body: body ?? {}, params }),
  patch: (path, body, params) => request("PATCH", path, { body: body ?? {}, params }),
  del: (path, body, params) => request("DELETE", path, { body, params }),
  /** A GET that answers null on 404 (an endpoint this server does not have yet). */
  async optional(path, params) {
    try { return await request("GET", path, { params }); }
    catch (err) { if (err.status === 404 || err.status === 501) return null; throw err; }
  },
};

export function thumbUrl(id, size = "thumbnail") { return url(`/assets/${id}/thumbnail`, { size }); }
export function originalUrl(id) { return url(`/assets/${id}/original`); }
export function videoUrl(id) { return url(`/assets/${id}/video/playback`); }

export function isAuthenticated() {
  return document.cookie.split(";").some((c) => c.trim() === "immich_is_authenticated=true");
}
