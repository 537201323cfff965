// Immich's thumbnail path with sharp (server/src/repositories/media.repository.ts, media.service.ts):
// decode once to raw at preview size (rotate, fit outside, withoutEnlargement), then from that buffer the
// 1440 px JPEG q80 (4:4:4), the 250 px WebP q80 and the thumbhash (100x100 inside, RGBA, npm `thumbhash`).
// Usage: node sharp_side.mjs <outdir> <concurrency> file...
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import path from 'node:path';

sharp.concurrency(0);
sharp.cache({ files: 0 });

const [outdir, concurrencyArg, ...files] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);

async function one(file, index) {
  const decoded = await sharp(file, { failOn: 'error', limitInputPixels: false })
    .pipelineColorspace('srgb').withIccProfile('srgb').rotate()
    .resize(1440, 1440, { fit: 'outside', withoutEnlargement: true })
    .raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: decoded.info.width, height: decoded.info.height, channels: decoded.info.channels } };
  const base = path.join(outdir, String(index));
  const opts = (q) => ({ quality: q, chromaSubsampling: '4:4:4' });
  await Promise.all([
    sharp(decoded.data, raw).resize(1440, 1440, { fit: 'outside', withoutEnlargement: true })
      .jpeg(opts(80)).toFile(`${base}-preview.jpeg`),
    sharp(decoded.data, raw).resize(250, 250, { fit: 'outside', withoutEnlargement: true })
      .webp({ quality: 80 }).toFile(`${base}-thumbnail.webp`),
    sharp(decoded.data, raw).resize(100, 100, { fit: 'inside', withoutEnlargement: true })
      .raw().ensureAlpha().toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => rgbaToThumbHash(info.width, info.height, data)),
  ]);
}

const started = process.hrtime.bigint();
let next = 0;
let failed = 0;
async function lane() {
  while (next < files.length) {
    const index = next++;
    try { await one(files[index], index); } catch (e) { failed++; console.error(files[index], e.message); }
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ seconds, files: files.length, failed }));
