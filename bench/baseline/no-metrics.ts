/**
 * handlers/lib/observability/metrics.ts's interface publishing nothing: what send-message costs without metrics, the
 * floor the benchmark measures both metrics libraries against (bench/metrics.ts).
 */
import type { FanOutFigures, MetricsContext } from "../../handlers/lib/observability/metrics";

export async function publishFanOut(_figures: FanOutFigures, _context: MetricsContext): Promise<void> {}

export async function publishDenial(_reason: string, _context: MetricsContext): Promise<void> {}
