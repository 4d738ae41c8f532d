/**
 * Image manifests as a registry must understand them: Docker image manifest schema 2, Docker
 * manifest lists, OCI image manifests and OCI image indexes. Parsing is pure: it finds the media
 * type, the blobs an image manifest needs (config and layers), the manifests an index names, and
 * the `subject` a referrer points at. Whether those exist is the caller's question.
 */
import { parseDigest } from './digests.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.values(MEDIA_TYPES);

/** Layers that registries never hold (Windows base layers): a manifest may name them without a push. */
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** Registries commonly cap manifests at 4 MiB (the CNCF distribution registry does). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  /** Image manifests: the config and every layer the registry must hold, in manifest order. */
  blobs: Descriptor[];
  /** Indexes and manifest lists: the manifests they name. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** OCI 1.1: `artifactType`, else the config's media type for a non-image artifact. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Sum of the layer sizes: what ECR reports as imageSizeInBytes. */
  layersSizeInBytes: number;
}

export type ManifestParse = { ok: true; manifest: ParsedManifest } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks a manifest. `contentType` is the media type the client declared (HTTP
 * Content-Type or ECR's imageManifestMediaType); when the manifest names its own `mediaType`, the
 * two must agree. Without either, the OCI rule applies: `manifests` makes an index, else a manifest.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ManifestParse {
  if (bytes.length > MAX_MANIFEST_BYTES) return { ok: false, reason: `manifest exceeds ${MAX_MANIFEST_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, reason: 'manifest must be a JSON object' };
  const m = doc as Record<string, unknown>;
  if (m['schemaVersion'] !== 2) return { ok: false, reason: 'schemaVersion must be 2 (schema 1 manifests are not supported)' };
  const declared = contentType === undefined || contentType === '' ? undefined : contentType.split(';')[0]!.trim();
  const own = m['mediaType'];
  if (own !== undefined && typeof own !== 'string') return { ok: false, reason: 'mediaType must be a string' };
  if (own !== undefined && declared !== undefined && own !== declared) {
    return { ok: false, reason: `mediaType '${own}' does not match the declared type '${declared}'` };
  }
  const mediaType = own ?? declared ?? (Array.isArray(m['manifests']) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) return { ok: false, reason: `unsupported manifest media type '${mediaType}'` };

  const out: ParsedManifest = { mediaType, blobs: [], manifests: [], layersSizeInBytes: 0 };
  const annotations = m['annotations'];
  if (annotations !== undefined) {
    if (!isStringMap(annotations)) return { ok: false, reason: 'annotations must map strings to strings' };
    out.annotations = annotations;
  }
  if (m['subject'] !== undefined) {
    const subject = descriptor(m['subject'], 'subject');
    if (typeof subject === 'string') return { ok: false, reason: subject };
    out.subject = subject;
  }
  if (m['artifactType'] !== undefined) {
    if (typeof m['artifactType'] !== 'string') return { ok: false, reason: 'artifactType must be a string' };
    out.artifactType = m['artifactType'];
  }

  if (mediaType === MEDIA_TYPES.dockerManifestList || mediaType === MEDIA_TYPES.ociIndex) {
    if (!Array.isArray(m['manifests'])) return { ok: false, reason: 'an index must have a manifests array' };
    for (const [i, entry] of m['manifests'].entries()) {
      const d = descriptor(entry, `manifests[${i}]`);
      if (typeof d === 'string') return { ok: false, reason: d };
      out.manifests.push(d);
    }
    return { ok: true, manifest: out };
  }

  const config = descriptor(m['config'], 'config');
  if (typeof config === 'string') return { ok: false, reason: config };
  out.blobs.push(config);
  if (!Array.isArray(m['layers'])) return { ok: false, reason: 'an image manifest must have a layers array' };
  for (const [i, entry] of m['layers'].entries()) {
    const d = descriptor(entry, `layers[${i}]`);
    if (typeof d === 'string') return { ok: false, reason: d };
    out.layersSizeInBytes += d.size;
    const external = Array.isArray((entry as Record<string, unknown>)['urls']);
    if (!FOREIGN_LAYER_TYPES.has(d.mediaType) && !external) out.blobs.push(d);
  }
  // OCI 1.1: an artifact without artifactType is typed by its config's media type.
  if (out.artifactType === undefined && mediaType === MEDIA_TYPES.ociManifest && config.mediaType !== 'application/vnd.oci.image.config.v1+json') {
    out.artifactType = config.mediaType;
  }
  return { ok: true, manifest: out };
}

/** A descriptor, or the reason it is not one. */
function descriptor(value: unknown, where: string): Descriptor | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be a descriptor object`;
  const d = value as Record<string, unknown>;
  if (typeof d['mediaType'] !== 'string' || d['mediaType'] === '') return `${where}.mediaType must be a non-empty string`;
  if (typeof d['digest'] !== 'string' || !parseDigest(d['digest'])) return `${where}.digest is not a valid sha256 or sha512 digest`;
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0) return `${where}.size must be a non-negative integer`;
  const out: Descriptor = { mediaType: d['mediaType'], digest: d['digest'], size: d['size'] };
  if (typeof d['artifactType'] === 'string') out.artifactType = d['artifactType'];
  if (d['annotations'] !== undefined) {
    if (!isStringMap(d['annotations'])) return `${where}.annotations must map strings to strings`;
    out.annotations = d['annotations'];
  }
  return out;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
