// ThumbHash decoder (the format by Evan Wallace, https://evanw.github.io/thumbhash/): a ~25-byte hash holds
// the DCT coefficients of a tiny image. We rebuild an image of at most 32 px on its long side.

export function thumbHashToRGBA(hash) {
  const { PI, cos, max, min, round } = Math;
  const header24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const header16 = hash[3] | (hash[4] << 8);
  const lDc = (header24 & 63) / 63;
  const pDc = ((header24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((header24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((header24 >> 18) & 31) / 31;
  const hasAlpha = header24 >> 23;
  const pScale = ((header16 >> 3) & 63) / 63;
  const qScale = ((header16 >> 9) & 63) / 63;
  const isLandscape = header16 >> 15;
  const lx = max(3, isLandscape ? (hasAlpha ? 5 : 7) : header16 & 7);
  const ly = max(3, isLandscape ? header16 & 7 : hasAlpha ? 5 : 7);
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = (hash[5] >> 4) / 15;
  const acStart = hasAlpha ? 6 : 5;
  let acIndex = 0;
  const channel = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++) {
        const nibble = (hash[acStart + (acIndex >> 1)] >> ((acIndex & 1) << 2)) & 15;
        ac.push((nibble / 7.5 - 1) * scale);
        acIndex++;
      }
    }
    return ac;
  };
  const lAc = channel(lx, ly, lScale);
  const pAc = channel(3, 3, pScale * 1.25);
  const qAc = channel(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? channel(5, 5, aScale) : null;

  const ratio = lx / ly;
  const w = round(ratio > 1 ? 32 : 32 * ratio);
  const h = round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8ClampedArray(w * h * 4);
  // cos() depends on x or y alone: compute the tables once instead of per pixel.
  const nx = max(lx, hasAlpha ? 5 : 3), ny = max(ly, hasAlpha ? 5 : 3);
  const fxAll = new Float64Array(w * nx), fyAll = new Float64Array(h * ny);
  for (let x = 0; x < w; x++) for (let cx = 0; cx < nx; cx++) fxAll[x * nx + cx] = cos((PI / w) * (x + 0.5) * cx);
  for (let y = 0; y < h; y++) for (let cy = 0; cy < ny; cy++) fyAll[y * ny + cy] = cos((PI / h) * (y + 0.5) * cy);
  for (let y = 0, i = 0; y < h; y++) {
    const fy = fyAll.subarray(y * ny, y * ny + ny);
    for (let x = 0; x < w; x++, i += 4) {
      const fx = fxAll.subarray(x * nx, x * nx + nx);
      let l = lDc, p = pDc, q = qDc, a = aDc;
      for (let cy = 0, j = 0; cy < ly; cy++) {
        const fy2 = fy[cy] * 2;
        for (let cx = cy ? 0 : 1; cx * ly < lx * (ly - cy); cx++, j++) l += lAc[j] * fx[cx] * fy2;
      }
      for (let cy = 0, j = 0; cy < 3; cy++) {
        for (let cx = cy ? 0 : 1; cx < 3 - cy; cx++, j++) {
          const f = fx[cx] * fy[cy] * 2;
          p += pAc[j] * f;
          q += qAc[j] * f;
        }
      }
      if (aAc) {
        for (let cy = 0, j = 0; cy < 5; cy++) {
          const fy2 = fy[cy] * 2;
          for (let cx = cy ? 0 : 1; cx < 5 - cy; cx++, j++) a += aAc[j] * fx[cx] * fy2;
        }
      }
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      const g = r - q;
      rgba[i] = max(0, 255 * min(1, r));
      rgba[i + 1] = max(0, 255 * min(1, g));
      rgba[i + 2] = max(0, 255 * min(1, b));
      rgba[i + 3] = max(0, 255 * min(1, a));
    }
  }
  return { w, h, rgba };
}

export function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

const cache = new Map();
let canvas = null;

/** A data: URL for a base64 thumbhash, cached (the same cell scrolls in and out of view). */
export function thumbHashDataURL(base64) {
  if (!base64) return null;
  let url = cache.get(base64);
  if (url) return url;
  try {
    const { w, h, rgba } = thumbHashToRGBA(base64ToBytes(base64));
    canvas = canvas || document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d");
    ctx.putImageData(new ImageData(rgba, w, h), 0, 0);
    url = canvas.toDataURL();
  } catch {
    url = "";
  }
  if (cache.size > 5000) cache.delete(cache.keys().next().value);
  cache.set(base64, url);
  return url;
}
