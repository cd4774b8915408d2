/**
 * The rooms this tab is in, each with the last seq it showed without a gap, so that a reload joins them
 * again and catches up from there: sessionStorage, since each tab has rooms of its own while all of them
 * share the remembered name. Storage may be unavailable.
 */
import { state } from "./state.js";

const ROOMS_KEY = "chat.rooms";

export const rememberedRooms = {
  /** @returns {{ name: string, seq?: number }[]} */
  get() {
    try {
      const rooms = JSON.parse(sessionStorage.getItem(ROOMS_KEY) ?? "[]");
      if (!Array.isArray(rooms)) return [];
      return rooms.flatMap((room) => {
        // A bare name: what the page stored before it kept seqs.
        if (typeof room === "string") return [{ name: room }];
        if (typeof room?.name !== "string") return [];
        return [{ name: room.name, ...(Number.isSafeInteger(room.seq) && room.seq >= 0 && { seq: room.seq }) }];
      });
    } catch {
      return [];
    }
  },
  set(rooms) {
    try {
      sessionStorage.setItem(ROOMS_KEY, JSON.stringify(rooms));
    } catch {
      // Private mode or storage disabled: a reload starts with no room.
    }
  },
};

/** Stores the tab's rooms (not those it is leaving) with the seq each has shown up to. */
export function rememberRooms() {
  rememberedRooms.set(
    [...state.rooms].filter(([, room]) => room.status !== "leaving").map(([name, room]) => ({ name, ...(room.upTo !== undefined && { seq: room.upTo }) })),
  );
}
