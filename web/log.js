/** The message log: entries appended at the bottom, followed while the reader is there, bounded in number. */
import { element } from "./render.js";
import { ui } from "./ui.js";

/** Entries kept in the log; older ones are dropped so a long session does not grow without bound. */
const MAX_LOG_ENTRIES = 500;

export function logEntry(className, testid) {
  const entry = element("li", `entry ${className}`);
  entry.dataset.testid = testid;
  return entry;
}

/** A line from the page itself; `kind` (data-kind) tells notices apart, e.g. "removed". */
export function notice(text, kind = "") {
  const entry = logEntry("notice", "notice");
  if (kind) entry.dataset.kind = kind;
  entry.textContent = text;
  appendToLog(entry);
}

export function appendToLog(entry) {
  insertIntoLog(entry, undefined);
}

/** Puts `entry` before `before`, or at the bottom when there is none. */
export function insertIntoLog(entry, before) {
  const log = ui.log;
  // Follow new entries only when the reader is already at the bottom, not while they scroll back.
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  if (before) before.before(entry);
  else log.append(entry);
  while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild?.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}
