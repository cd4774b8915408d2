/** What the local runtime counts as "this machine": for the HOST warning and /dev/token's loopback-only rule. */
import { hostExposure, isLoopbackAddress, isLoopbackHost } from "../local/http/loopback";

test.each([
  ["127.0.0.1", true],
  ["127.1.2.3", true],
  ["::1", true],
  ["::ffff:127.0.0.1", true],
  ["192.0.2.2", false],
  ["::ffff:192.0.2.2", false],
  ["fd00::2", false],
  ["10.0.0.1", false],
  ["", false],
  [undefined, false],
])("a socket's remoteAddress %s is loopback: %s", (address, loopback) => {
  expect(isLoopbackAddress(address)).toBe(loopback);
});

test.each([
  ["127.0.0.1", true],
  ["localhost", true],
  ["[::1]", true],
  ["0.0.0.0", false],
  ["::", false],
  ["192.0.2.2", false],
])("HOST=%s stays on this machine: %s, and only then is there no warning", (host, loopback) => {
  expect(isLoopbackHost(host)).toBe(loopback);
  expect(hostExposure(host) === undefined).toBe(loopback);
});
