import type { ClientFrame, Validated } from "./client-frames";
import { errorFrame, type ErrorFrame } from "./frames";

/** A user id as a client names one: a token's `sub`, which is never empty and never longer than this. */
export const MAX_USER_ID_LENGTH = 256;
/** A ban lasts at most a year (docs/protocol.md); `seconds: 0` lifts it. */
export const MAX_BAN_SECONDS = 31_536_000;

export interface BanRequest {
  readonly user: string;
  /** 0 lifts the ban. */
  readonly seconds: number;
}

/** docs/protocol.md's field rules for `ban`, in order: user, seconds. */
export function validateBan(frame: ClientFrame, action: string): Validated<BanRequest> {
  const { user, seconds } = frame;
  if (typeof user !== "string" || user.length === 0 || user.length > MAX_USER_ID_LENGTH) {
    return invalid("user", `"user" must be a user id of 1 to ${MAX_USER_ID_LENGTH} characters.`, action);
  }
  if (!(Number.isInteger(seconds) && (seconds as number) >= 0 && (seconds as number) <= MAX_BAN_SECONDS)) {
    return invalid("seconds", `"seconds" must be an integer from 0 (lifts the ban) to ${MAX_BAN_SECONDS}.`, action);
  }
  return { ok: true, value: { user, seconds: seconds as number } };
}

function invalid(field: string, message: string, action: string): { readonly ok: false; readonly error: ErrorFrame } {
  return { ok: false, error: { ...errorFrame("INVALID_REQUEST", message, action), field } };
}
