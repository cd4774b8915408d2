/**
 * A function's output line as the runtime prints it. Lambda's JSON log lines (`{"timestamp", "level",
 * "requestId", "message"}`, see function-worker.js) and its text lines (`time\trequestId\tLEVEL\ttext`) are
 * shown as `[function] LEVEL requestId message`, the message as compact JSON when it is an object; an EMF
 * document is shown as `[function] EMF <document>` unchanged, since it is data; anything else as printed.
 */
export function renderFunctionLine(functionName: string, line: string): string {
  const prefix = `[${functionName}]`;
  if (line.startsWith("{")) {
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (isEmfDocument(parsed)) return `${prefix} EMF ${line}`;
    if (parsed && typeof parsed.level === "string" && "timestamp" in parsed && "message" in parsed) {
      const message = typeof parsed.message === "string" ? parsed.message : JSON.stringify(parsed.message);
      const error = typeof parsed.errorType === "string" ? ` (${parsed.errorType}: ${String(parsed.errorMessage)})` : "";
      return `${prefix} ${parsed.level} ${String(parsed.requestId ?? "-")} ${message}${error}`;
    }
  }
  const text = /^\d{4}-\d\d-\d\dT[\d:.]+Z\t([^\t]*)\t([A-Z]+)\t(.*)$/s.exec(line);
  if (text) return `${prefix} ${text[2]} ${text[1]} ${text[3]}`;
  return `${prefix} ${line}`;
}

/** An EMF document: a JSON object with CloudWatch's `_aws` metadata, as CloudWatch Logs tells them apart. */
export function isEmfLine(line: string): boolean {
  if (!line.startsWith("{")) return false;
  try {
    return isEmfDocument(JSON.parse(line));
  } catch {
    return false;
  }
}

function isEmfDocument(parsed: unknown): boolean {
  return typeof parsed === "object" && parsed !== null && typeof (parsed as Record<string, unknown>)._aws === "object";
}
