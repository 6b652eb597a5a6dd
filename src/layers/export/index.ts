// Placeholder: export, import and the fallback open (issue #17) are built here.
import { invalid } from '../../errors/sop-error.js';
import type { LayerHost } from '../host.js';

export interface ExportReport { stores: number; items: number; bytes: number }

export async function exportDatabase(_host: LayerHost, _file: string): Promise<ExportReport> {
  throw invalid('export is not built yet');
}
