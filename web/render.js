/**
 * Small DOM builders. Everything the server or another user sends goes through textContent (or an
 * attribute), never innerHTML, so a message or a name cannot inject markup.
 */

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function badge(text, kind) {
  const node = element("span", `badge ${kind}`, text);
  node.dataset.testid = `badge-${kind}`;
  return node;
}

/**
 * A user's name followed by a mark when an identity provider vouched for it (docs/protocol.md: `verified`)
 * and the end of its user id, since two verified users may share a name; then an "admin" badge for admins.
 */
export function userName(user, className = "name") {
  const node = element("span", className, user.name);
  if (user.verified) {
    const mark = element("span", "verified", "✓");
    mark.dataset.testid = "verified";
    mark.title = "Verified by the identity provider";
    mark.setAttribute("aria-label", "verified");
    const tag = element("span", "user-tag", ` · ${userTag(user)}`);
    tag.title = `User id ${user.id}`;
    node.append(mark, tag);
  }
  if (user.admin) {
    const admin = badge("admin", "admin");
    admin.title = "An admin of this chat";
    node.append(" ", admin);
  }
  return node;
}

/** A user as plain text, told apart from others of the same name as userName does it. */
export function displayName(user) {
  return user.verified ? `${user.name} · ${userTag(user)}` : user.name;
}

/** The last characters of a user id: ids share prefixes ("local-"), their ends are random. */
function userTag(user) {
  return user.id.slice(-4);
}

/** A <time> in local time; the full date and time zone are in its tooltip. */
export function timeElement(iso) {
  const date = new Date(iso);
  const node = element("time", "time");
  if (Number.isNaN(date.getTime())) {
    node.textContent = iso;
    return node;
  }
  node.dateTime = date.toISOString();
  node.dataset.testid = "time";
  node.textContent = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  node.title = date.toString();
  return node;
}

/** Connection ids are long and random; the first characters tell them apart well enough. */
export function shortId(id) {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id || "unknown";
}

/**
 * A user from a frame (`sender`, `user`), tolerating a server that sends none (protocol v1): then the
 * connection stands for the user, as it does for anonymous users in v2.
 */
export function userFrom(value, connectionId) {
  if (value !== null && typeof value === "object" && typeof value.id === "string" && typeof value.name === "string") {
    return { id: value.id, name: value.name, verified: value.verified === true, ...(value.admin === true && { admin: true }) };
  }
  return { id: connectionId, name: shortId(connectionId), verified: false };
}
