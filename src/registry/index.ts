export { DiskBlobStore } from './blob-store.js';
export type { BlobStore, ByteRange, StoredBlob, UploadSession } from './blob-store.js';
export { RegistryTokens, TOKEN_LIFETIME_MS, REGISTRY_USER } from './auth-token.js';
export { createRegistryHandler, isRegistryRequest } from './distribution.js';
export type { RegistryHandlerOptions } from './distribution.js';
export { RegistryMaintenance } from './maintenance.js';
export type { RegistryMaintenanceOptions, SweepResult } from './maintenance.js';
export { RegistryError } from './errors.js';
