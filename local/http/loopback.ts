/**
 * Loopback: this machine only. The local runtime listens on loopback by default; what mints tokens
 * (/dev/token) answers only loopback clients even when HOST opens the rest to the network.
 */
import { isIP } from "node:net";

/** An address a socket reports for a peer on this machine: 127.0.0.0/8, ::1, or IPv4 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
  if (isIP(v4) === 4) return v4.split(".")[0] === "127";
  return address === "::1";
}

/** A HOST the runtime may listen on without being reachable from other machines. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "localhost" || isLoopbackAddress(bare);
}

/** The startup warning for a HOST beyond loopback, or undefined for a loopback one. */
export function hostExposure(host: string): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  return (
    `Warning: HOST=${host} listens beyond this machine: anyone on the network can reach the chat, its @connections API and the metrics view. ` +
    "The local issuer's /dev/token, which mints a token for any name, still answers only clients on this machine (403 otherwise)."
  );
}
