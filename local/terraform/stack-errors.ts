/** The stack cannot be served locally as synthesized; the message says what and where. */
export class StackModelError extends Error {
  override name = "StackModelError";
}
