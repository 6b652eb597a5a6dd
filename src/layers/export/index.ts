/**
 * The factory-reset kit (issue #17): a consistent JSON-lines export of every store of every kind
 * (`db.export`, `sop export`), its import (`sop import`), and the fallback open that rebuilds a
 * missing or unreadable folder from such a file (`Database.open({ fallback })`).
 */
export { type ExportReport, exportDatabase } from './export.js';
export { type ImportReport, importDatabase } from './import.js';
export { type FallbackReport, openWithFallback } from './fallback.js';
export { importIntoTemp, moveIntoPlace, type OpenFolder } from './rebuild.js';
export { fromJson, toJson } from './json-value.js';
