// The virtualised photo grid: months and days of square cells, only the rows near the viewport in the DOM.
// Buckets (months) arrive with counts first and their assets on demand, so 100k photos cost a few
// hundred rows of layout numbers, and a few dozen DOM nodes.

import { api, thumbUrl, originalUrl } from "./api.js";
import { thumbHashDataURL } from "./thumbhash.js";
import { h, monthLabel, dayLabel, duration } from "./ui.js";

const MONTH_H = 52;
const DAY_H = 34;
const GAP = 4;

export const perf = { firstThumbnailAt: null, firstCellsAt: null };

/** An asset as the grid needs it, from an AssetResponseDto. */
export function fromAssetDto(a) {
  const local = a.localDateTime || a.fileCreatedAt || "";
  return {
    id: a.id, isImage: a.type === "IMAGE", isFavorite: !!a.isFavorite, thumbhash: a.thumbhash,
    ratio: a.width && a.height ? a.width / a.height : 1, duration: a.duration,
    day: local.slice(0, 10), month: local.slice(0, 7), visibility: a.visibility,
  };
}

/** The 3.x columnar bucket (`/timeline/bucket`) as grid assets. */
export function fromColumns(c) {
  const out = [];
  for (let i = 0; i < c.id.length; i++) {
    const offset = (c.localOffsetHours && c.localOffsetHours[i]) || 0;
    const local = new Date(Date.parse(c.fileCreatedAt[i]) + offset * 3600e3).toISOString();
    out.push({
      id: c.id[i], isImage: c.isImage[i], isFavorite: c.isFavorite[i], thumbhash: c.thumbhash ? c.thumbhash[i] : null,
      ratio: c.ratio ? c.ratio[i] : 1, duration: c.duration ? c.duration[i] : null,
      day: local.slice(0, 10), month: local.slice(0, 7), visibility: c.visibility ? c.visibility[i] : "timeline",
    });
  }
  return out;
}

/** Group loaded assets into month buckets (already sorted newest first). */
export function groupByMonth(assets) {
  const buckets = [];
  for (const a of assets) {
    let last = buckets[buckets.length - 1];
    if (!last || last.key !== a.month) {
      last = { key: a.month, count: 0, assets: [] };
      buckets.push(last);
    }
    last.assets.push(a);
    last.count++;
  }
  return buckets;
}

/** Source: the Immich 3.x timeline endpoints; null when this server has none (404). */
export async function timelineSource(params = {}) {
  let buckets;
  try {
    buckets = await api.get("/timeline/buckets", params);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
  return {
    initial: buckets.map((b) => ({ key: b.timeBucket.slice(0, 7), bucket: b.timeBucket, count: b.count, assets: null })),
    async load(bucket) {
      return fromColumns(await api.get("/timeline/bucket", { ...params, timeBucket: bucket.bucket }));
    },
  };
}

/** Source: `/search/metadata` pages, for servers without the timeline endpoints and for search results.
 * The first page is small (a fast first screen), then pages double up to `maxSize`: page 2 of size n is
 * exactly the n items after the first n, so sizes 50, 50, 100, 200, 400, 400… tile the results. */
export function searchSource(filters = {}, maxSize = 400, firstSize = 50) {
  let offset = 0;
  return {
    initial: [],
    done: false,
    async more() {
      if (this.done) return [];
      const size = offset === 0 ? firstSize : Math.min(offset, maxSize);
      const page = Math.floor(offset / size) + 1;
      const result = await api.post("/search/metadata", { ...filters, page, size, order: "desc", withExif: false });
      const items = result.assets.items.map(fromAssetDto);
      offset += items.length;
      if (!result.assets.nextPage) this.done = true;
      return items;
    },
  };
}

/** Source: a fixed list of assets (album, shared link). */
export function listSource(assetDtos) {
  const assets = assetDtos.map(fromAssetDto).sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0));
  return { initial: groupByMonth(assets) };
}

function startImage(img) {
  const src = img.dataset.src;
  if (!src) return;
  delete img.dataset.src;
  img.src = src;
}

/** Rows that scrolled away drop their unfinished thumbnails, so the browser's few connections serve the
 * screen the person is looking at, not the ones they flew past. */
function cancelImages(node) {
  for (const img of node.querySelectorAll("img")) {
    if (img.complete || !img.getAttribute("src")) continue;
    img.dataset.cancelled = "1";
    img.removeAttribute("src");
  }
}

export class Grid {
  constructor({ source, onOpen, onSelectionChange, emptyText = "No photos yet" }) {
    this.source = source;
    this.onOpen = onOpen;
    this.onSelectionChange = onSelectionChange || (() => {});
    this.emptyText = emptyText;
    this.buckets = (source.initial || []).map((b) => ({ ...b }));
    this.selected = new Set();
    this.nodes = new Map();
    this.loading = 0;
    this.pendingPlaceholders = [];
    this.moreLoading = false;
    this.scroller = h("div", { class: "grid-scroll", tabindex: "-1", role: "region", "aria-label": "Photos" });
    this.canvas = h("div", { class: "grid-canvas" });
    this.scroller.append(this.canvas);
    this.scrubber = h("nav", { class: "scrubber", "aria-label": "Jump to month" });
    this.empty = h("p", { class: "empty", hidden: true }, emptyText);
    this.el = h("div", { class: "grid" }, this.scroller, this.scrubber, this.empty);
    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.resizeObserver = new ResizeObserver(() => this.relayout());
    this.resizeObserver.observe(this.scroller);
    this.bindScrubber();
    this.canvas.addEventListener("keydown", (e) => this.onKey(e));
  }

  /** Arrow keys move between photos (Tab goes through each photo's link and Select button). */
  onKey(e) {
    const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -this.cols, ArrowDown: this.cols };
    if (!(e.key in steps) || !e.target.classList.contains("open")) return;
    const links = [...this.canvas.querySelectorAll(".cell .open")].map((a) => [a, a.getBoundingClientRect()])
      .sort(([, p], [, q]) => p.top - q.top || p.left - q.left).map(([a]) => a);
    const here = links.indexOf(e.target);
    let target = links[here + steps[e.key]];
    if (!target && (e.key === "ArrowUp" || e.key === "ArrowDown")) target = links[e.key === "ArrowUp" ? 0 : links.length - 1];
    if (!target || target === e.target) return;
    e.preventDefault();
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "nearest" });
  }

  destroy() { this.resizeObserver.disconnect(); this.destroyed = true; }

  /** Every loaded asset id in display order (the viewer's next/previous). */
  loadedAssets() { return this.buckets.flatMap((b) => b.assets || []); }

  /** A fling (half a screen or more per event) draws bare cells; the settled screen gets placeholders and
   * thumbnails. Otherwise a fast scrubber drag would decode and request hundreds of images nobody sees. */
  onScroll() {
    const y = this.scroller.scrollTop;
    const jump = Math.abs(y - (this.lastY ?? y));
    this.lastY = y;
    if (jump > this.scroller.clientHeight * 0.5) {
      this.fast = true;
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => {
        this.fast = false;
        this.keepingFocus(() => {
          for (const node of this.nodes.values()) node.remove();
          this.nodes.clear();
          this.render();
        });
      }, 150);
    }
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = null; this.render(); });
  }

  metrics() {
    const style = getComputedStyle(this.scroller);
    const width = this.scroller.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const target = width < 600 ? 110 : 170;
    const cols = Math.max(3, Math.round(width / target));
    return { cols, cell: Math.floor((width - GAP * (cols - 1)) / cols) };
  }

  /** Rows of one month, with tops relative to the month; kept until its assets or the column count change. */
  layoutBucket(bucket, cols, cell) {
    const loaded = !!bucket.assets;
    const n = loaded ? bucket.assets.length : bucket.count;
    const cached = bucket.layout;
    if (cached && cached.cols === cols && cached.cell === cell && cached.loaded === loaded && cached.n === n) return cached;
    const rows = [{ type: "month", top: 0, h: MONTH_H }];
    let top = MONTH_H;
    if (!loaded) {
      const estimate = Math.ceil(bucket.count / cols) * (cell + GAP) + Math.min(bucket.count, 3) * DAY_H;
      rows.push({ type: "pending", top, h: estimate });
      top += estimate;
    } else {
      let index = 0;
      const assets = bucket.assets;
      while (index < assets.length) {
        const day = assets[index].day;
        rows.push({ type: "day", top, h: DAY_H, day });
        top += DAY_H;
        let end = index;
        while (end < assets.length && assets[end].day === day) end++;
        for (let i = index; i < end; i += cols) {
          rows.push({ type: "cells", top, h: cell + GAP, from: i, to: Math.min(i + cols, end) });
          top += cell + GAP;
        }
        index = end;
      }
    }
    bucket.layout = { cols, cell, loaded, n, rows, height: top };
    return bucket.layout;
  }

  /** Redraws replace the DOM nodes; keyboard focus follows the photo it was on. */
  keepingFocus(redraw) {
    const active = document.activeElement;
    const cell = active && this.canvas.contains(active) ? active.closest(".cell") : null;
    const onCheck = !!(active && active.classList.contains("check"));
    redraw();
    if (!cell || cell.isConnected) return;
    const again = this.canvas.querySelector(`.cell[data-id="${cell.dataset.id}"] ${onCheck ? ".check" : ".open"}`);
    if (again) again.focus({ preventScroll: true });
  }

  relayout() {
    if (this.destroyed || !this.scroller.clientWidth) return;
    this.keepingFocus(() => this.relayoutNow());
  }

  relayoutNow() {
    const anchor = this.anchor();
    const { cols, cell } = this.metrics();
    this.cols = cols;
    this.cell = cell;
    let top = 0;
    for (const bucket of this.buckets) {
      bucket.top = top;
      bucket.height = this.layoutBucket(bucket, cols, cell).height;
      top += bucket.height;
    }
    this.total = top;
    this.canvas.style.height = `${top}px`;
    for (const node of this.nodes.values()) node.remove();
    this.nodes.clear();
    if (anchor) this.scroller.scrollTop = anchor.bucket.top + anchor.offset;
    this.lastY = this.scroller.scrollTop;
    this.empty.hidden = this.buckets.length > 0 || this.moreLoading || this.source.more && !this.source.done;
    this.drawScrubber();
    this.render();
  }

  anchor() {
    const y = this.scroller.scrollTop;
    if (this.total === undefined || y <= 0) return null;
    const bucket = this.buckets[this.bucketAt(y)];
    return bucket && bucket.top !== undefined ? { bucket, offset: y - bucket.top } : null;
  }

  /** Index of the first bucket whose bottom is below y (binary search). */
  bucketAt(y) {
    let lo = 0, hi = this.buckets.length - 1, found = this.buckets.length;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.buckets[mid];
      if (b.top + b.height > y) { found = mid; hi = mid - 1; } else lo = mid + 1;
    }
    return found;
  }

  render() {
    if (this.destroyed) return;
    if (this.cols === undefined) { this.relayout(); return; }
    const view = this.scroller.clientHeight || window.innerHeight;
    const top = this.scroller.scrollTop;
    const from = top - view * 0.5, to = top + view * 1.5;
    const wanted = new Set();
    for (let b = this.bucketAt(from); b < this.buckets.length && this.buckets[b].top < to; b++) {
      const bucket = this.buckets[b];
      const rows = bucket.layout.rows;
      let lo = 0, hi = rows.length - 1, first = rows.length;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (bucket.top + rows[mid].top + rows[mid].h > from) { first = mid; hi = mid - 1; } else lo = mid + 1;
      }
      for (let i = first; i < rows.length && bucket.top + rows[i].top < to; i++) {
        const key = `${bucket.key}:${i}`;
        wanted.add(key);
        const row = rows[i];
        if (row.type === "pending" && !this.fast) this.loadBucket(bucket);
        if (!this.nodes.has(key)) {
          const node = this.drawRow(row, bucket);
          this.nodes.set(key, node);
          this.canvas.append(node);
          const rowTop = bucket.top + row.top;
          if (rowTop < top + view && rowTop + row.h > top) for (const img of node.querySelectorAll("img[data-src]")) startImage(img);
        }
      }
    }
    for (const [key, node] of this.nodes) {
      if (wanted.has(key)) continue;
      node.remove();
      this.nodes.delete(key);
      cancelImages(node);
    }
    // Placeholders are decoded just after this task, so the thumbnail requests go out first.
    if (this.pendingPlaceholders.length && !this.placeholderTimer) {
      this.placeholderTimer = setTimeout(() => this.paintPlaceholders(), 0);
    }
    // Thumbnails on screen are asked for now; those in the margins a moment later, if still wanted.
    clearTimeout(this.marginTimer);
    this.marginTimer = setTimeout(() => {
      for (const img of this.canvas.querySelectorAll("img[data-src]")) startImage(img);
    }, 120);
    if (!this.fast) {
      // Months just beyond the screen load ahead; the screen itself comes first (its pending rows, above).
      for (let b = this.bucketAt(top - view * 0.5); b < this.buckets.length && this.buckets[b].top < top + view * 2; b++) {
        if (!this.buckets[b].assets) this.loadBucket(this.buckets[b]);
      }
    }
    if (this.source.more && !this.source.done && top + view * 3 > this.total) this.loadMore();
    this.highlightScrubber(top);
  }

  paintPlaceholders() {
    this.placeholderTimer = null;
    const cells = this.pendingPlaceholders;
    this.pendingPlaceholders = [];
    for (const cell of cells) {
      const img = cell.querySelector("img");
      if (!cell.isConnected || (img && img.classList.contains("loaded"))) continue;
      const url = thumbHashDataURL(cell.dataset.hash);
      if (url) cell.style.backgroundImage = `url(${url})`;
    }
  }

  async loadBucket(bucket) {
    if (bucket.assets || bucket.loading || this.loading >= 2) return;
    bucket.loading = true;
    this.loading++;
    try {
      bucket.assets = await this.source.load(bucket);
      bucket.count = bucket.assets.length;
    } catch (err) {
      console.error("bucket", bucket.key, err);
      bucket.assets = [];
    } finally {
      bucket.loading = false;
      this.loading--;
    }
    this.relayout();
  }

  async loadMore() {
    if (this.moreLoading) return;
    this.moreLoading = true;
    try {
      const items = await this.source.more();
      for (const group of groupByMonth(items)) {
        const last = this.buckets[this.buckets.length - 1];
        if (last && last.key === group.key) { last.assets.push(...group.assets); last.count = last.assets.length; }
        else this.buckets.push(group);
      }
    } catch (err) {
      console.error("more", err);
      this.source.done = true;
    } finally {
      this.moreLoading = false;
    }
    this.relayout();
  }

  /** Put new assets in (after an upload): simplest correct thing is to reload from the source. */
  setBuckets(buckets) { this.buckets = buckets; this.relayout(); }

  drawRow(row, bucket) {
    const style = `transform:translateY(${bucket.top + row.top}px);height:${row.h}px`;
    if (row.type === "month") {
      return h("h2", { class: "trow month", style, id: `m-${bucket.key}` }, monthLabel(bucket.key));
    }
    if (row.type === "day") {
      return h("div", { class: "trow day", style },
        h("h3", null, dayLabel(row.day)),
        h("button", { type: "button", class: "link small", "aria-label": `Select all of ${dayLabel(row.day)}`,
          onclick: () => this.toggleMany(bucket.assets.filter((a) => a.day === row.day).map((a) => a.id)) }, "Select"));
    }
    if (row.type === "pending") return h("div", { class: "trow pending", style, "aria-busy": "true" });
    const node = h("div", { class: "trow cells", style });
    for (let i = row.from; i < row.to; i++) node.append(this.drawCell(bucket.assets[i]));
    return node;
  }

  drawCell(asset) {
    const size = `${this.cell}px`;
    const selected = this.selected.has(asset.id);
    // A cell is a box holding two controls side by side (a link may not contain a button).
    const cell = h("div", { class: "cell" + (selected ? " selected" : "") + (asset.isImage ? "" : " is-video"), "data-id": asset.id,
      style: { width: size, height: size } });
    if (this.fast) {
      cell.append(h("a", { class: "open", href: `/photos/${asset.id}`, "aria-label": dayLabel(asset.day) }));
      return cell;
    }
    if (asset.thumbhash) {
      cell.dataset.hash = asset.thumbhash;
      this.pendingPlaceholders.push(cell);
    }
    const link = h("a", { class: "open", href: `/photos/${asset.id}`,
      "aria-label": `${asset.isImage ? "Photo" : "Video"} of ${dayLabel(asset.day)}${asset.isFavorite ? ", favourite" : ""}` });
    const img = h("img", { alt: "", decoding: "async", draggable: false });
    img.addEventListener("load", () => {
      img.classList.add("loaded");
      if (!perf.firstThumbnailAt) perf.firstThumbnailAt = performance.now();
    });
    img.addEventListener("error", () => {
      if (img.dataset.cancelled) return;
      // No thumbnail yet (the media pipeline has not run): a browser-readable original will do.
      if (asset.isImage && !img.dataset.fallback) { img.dataset.fallback = "1"; img.src = originalUrl(asset.id); }
      else { img.remove(); cell.classList.add("no-thumb"); }
    });
    img.dataset.src = thumbUrl(asset.id);
    link.append(img);
    cell.append(link);
    if (!asset.isImage) cell.append(h("span", { class: "badge video", "aria-hidden": "true" }, duration(asset.duration) || "▶"));
    if (asset.isFavorite) cell.append(h("span", { class: "badge fav", "aria-hidden": "true" }, "♥"));
    const check = h("button", { type: "button", class: "check", "aria-pressed": String(selected), "aria-label": "Select" });
    check.addEventListener("click", (e) => { e.preventDefault(); this.toggle(asset.id); });
    cell.append(check);
    link.addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      if (this.selected.size) this.toggle(asset.id);
      else this.onOpen && this.onOpen(asset, this);
    });
    if (!perf.firstCellsAt) perf.firstCellsAt = performance.now();
    return cell;
  }

  focusAsset(id) {
    const link = id && this.canvas.querySelector(`.cell[data-id="${id}"] .open`);
    if (link) link.focus({ preventScroll: true });
  }

  toggle(id) {
    if (this.selected.has(id)) this.selected.delete(id); else this.selected.add(id);
    this.refreshSelection();
  }

  toggleMany(ids) {
    const all = ids.every((id) => this.selected.has(id));
    for (const id of ids) { if (all) this.selected.delete(id); else this.selected.add(id); }
    this.refreshSelection();
  }

  clearSelection() { this.selected.clear(); this.refreshSelection(); }

  refreshSelection() {
    for (const cell of this.canvas.querySelectorAll(".cell")) {
      const on = this.selected.has(cell.dataset.id);
      cell.classList.toggle("selected", on);
      cell.querySelector(".check").setAttribute("aria-pressed", String(on));
    }
    this.el.classList.toggle("selecting", this.selected.size > 0);
    this.onSelectionChange(this.selected);
  }

  drawScrubber() {
    const items = [];
    let lastYear = null;
    for (const b of this.buckets) {
      const year = b.key.slice(0, 4);
      const pct = this.total ? (b.top / this.total) * 100 : 0;
      const button = h("button", { type: "button", class: "tick", style: `top:${pct}%`, "data-key": b.key,
        "aria-label": monthLabel(b.key), title: monthLabel(b.key), onclick: () => this.scrollToBucket(b) });
      if (year !== lastYear) { button.append(h("span", { class: "year" }, year)); lastYear = year; }
      items.push(button);
    }
    this.scrubber.replaceChildren(...items);
    this.scrubber.hidden = this.buckets.length < 2;
  }

  highlightScrubber(top) {
    const current = this.buckets.find((b) => b.top + b.height > top);
    if (!current || current === this.currentBucket) return;
    this.currentBucket = current;
    for (const t of this.scrubber.querySelectorAll(".tick.current")) t.classList.remove("current");
    const tick = this.scrubber.querySelector(`[data-key="${current.key}"]`);
    if (tick) tick.classList.add("current");
  }

  scrollToBucket(bucket) { this.scroller.scrollTop = bucket.top; }

  bindScrubber() {
    let dragging = false;
    const move = (e) => {
      const rect = this.scrubber.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (e.clientY - rect.top) / rect.height));
      this.scroller.scrollTop = fraction * this.total;
    };
    this.scrubber.addEventListener("pointerdown", (e) => {
      if (e.target.closest(".tick") && e.pointerType !== "touch") return;
      dragging = true;
      this.scrubber.setPointerCapture(e.pointerId);
      move(e);
    });
    this.scrubber.addEventListener("pointermove", (e) => { if (dragging) move(e); });
    this.scrubber.addEventListener("pointerup", () => { dragging = false; });
  }
}
