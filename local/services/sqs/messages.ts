/**
 * SQS messages as callers see them: what SendMessage accepts (body characters, size, message attributes), the
 * MD5 digests SQS returns (the SDK checks the body's), the sender id, and the record Lambda puts in an SQS event.
 */
import { createHash } from "node:crypto";
import type { Identity } from "../../iam/identities";
import { errors } from "./errors";

/** A message attribute as the JSON protocol carries it (BinaryValue base64-encoded). */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export type MessageAttributes = Readonly<Record<string, MessageAttributeValue>>;

/** What a sender gave, validated. */
export interface MessageInput {
  readonly body: string;
  readonly attributes: MessageAttributes;
  /** AWSTraceHeader, the one system attribute a sender may set. */
  readonly traceHeader?: string;
  readonly groupId?: string;
}

export const md5Hex = (data: string | Buffer): string => createHash("md5").update(data).digest("hex");

/** "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF" (SendMessage, MessageBody). */
const ALLOWED_CHARACTERS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,250})?$/;
const MAX_ATTRIBUTES = 10;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The MD5 SQS computes over message attributes: for each attribute in name order, the name, the data type,
 * a transport byte (1 string, 2 binary) and the value, each but the byte prefixed with its 4-byte length.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
 */
export function md5OfMessageAttributes(attributes: MessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const value = attributes[name]!;
    field(Buffer.from(name, "utf8"));
    field(Buffer.from(value.DataType, "utf8"));
    const binary = value.DataType.startsWith("Binary");
    parts.push(Buffer.from([binary ? 2 : 1]));
    field(binary ? Buffer.from(value.BinaryValue ?? "", "base64") : Buffer.from(value.StringValue ?? "", "utf8"));
  }
  return md5Hex(Buffer.concat(parts));
}

function attributeBytes(name: string, value: MessageAttributeValue): number {
  const data = value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, "base64").length : Buffer.byteLength(value.StringValue ?? "");
  return Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + data;
}

function validateAttributes(raw: unknown): MessageAttributes {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw errors.invalidParameterValue("MessageAttributes must be a map of attribute names to values.");
  const names = Object.keys(raw);
  if (names.length > MAX_ATTRIBUTES) {
    throw errors.invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const name of names) {
    const value = raw[name];
    const reserved = /^(aws\.|amazon\.)/i.test(name);
    if (!ATTRIBUTE_NAME.test(name) || reserved || name.startsWith(".") || name.endsWith(".") || name.includes("..")) {
      throw errors.invalidParameterValue(`Message (user) attribute '${name}' has an invalid name: use up to 256 letters, digits, '_', '-' and '.', not starting with AWS. or Amazon.`);
    }
    if (!isObject(value) || typeof value.DataType !== "string" || !DATA_TYPE.test(value.DataType)) {
      throw errors.invalidParameterValue(`The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
    const type = value.DataType.split(".")[0];
    if (type === "Binary") {
      if (typeof value.BinaryValue !== "string" || value.BinaryValue === "") {
        throw errors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type 'Binary'.`);
      }
      attributes[name] = { DataType: value.DataType, BinaryValue: value.BinaryValue };
    } else {
      if (typeof value.StringValue !== "string" || value.StringValue === "") {
        throw errors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type '${type}'.`);
      }
      if (type === "Number" && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value.StringValue)) {
        throw errors.invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      }
      if (!ALLOWED_CHARACTERS.test(value.StringValue)) throw errors.invalidMessageContents(`Message (user) attribute '${name}' contains invalid characters.`);
      attributes[name] = { DataType: value.DataType, StringValue: value.StringValue };
    }
  }
  return attributes;
}

/** Validates what SendMessage (or one entry of SendMessageBatch) got; the size counts body and attributes. */
export function validateMessage(entry: Record<string, unknown>, maximumBytes: number): MessageInput & { readonly bytes: number } {
  const body = entry.MessageBody;
  if (body === undefined || body === null) throw errors.missingParameter("MessageBody");
  if (typeof body !== "string" || body.length === 0) throw errors.invalidParameterValue("The message body must be a string of at least one character.");
  if (!ALLOWED_CHARACTERS.test(body)) {
    throw errors.invalidMessageContents("Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  }
  if (entry.MessageDeduplicationId !== undefined) {
    throw errors.invalidParameterValue("The request include parameter that is not valid for this queue type: MessageDeduplicationId is only for FIFO queues.");
  }
  const attributes = validateAttributes(entry.MessageAttributes);
  let traceHeader: string | undefined;
  if (entry.MessageSystemAttributes !== undefined) {
    const system = entry.MessageSystemAttributes;
    const names = isObject(system) ? Object.keys(system) : [];
    const trace = isObject(system) ? system.AWSTraceHeader : undefined;
    if (!isObject(system) || names.some((name) => name !== "AWSTraceHeader") || !isObject(trace) || typeof trace.StringValue !== "string") {
      throw errors.invalidParameterValue("AWSTraceHeader, with a StringValue, is the only supported message system attribute.");
    }
    traceHeader = trace.StringValue;
  }
  const bytes = Buffer.byteLength(body) + Object.entries(attributes).reduce((sum, [name, value]) => sum + attributeBytes(name, value), 0);
  if (bytes > maximumBytes) {
    throw errors.invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${maximumBytes} bytes.`);
  }
  const groupId = typeof entry.MessageGroupId === "string" ? entry.MessageGroupId : undefined;
  return { body, attributes, bytes, ...(traceHeader === undefined ? {} : { traceHeader }), ...(groupId === undefined ? {} : { groupId }) };
}

/**
 * The SenderId SQS records: for a role session "<role id>:<session name>" (Lambda names the session after the
 * function), for a user its user id. Local ids are stable hashes shaped like AWS's.
 */
export function senderIdOf(identity: Identity): string {
  const id = (prefix: string) => {
    const digest = createHash("sha256").update(identity.principalArn).digest();
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let suffix = "";
    for (let i = 0; suffix.length < 17; i += 1) suffix += alphabet[digest[i]! % alphabet.length];
    return `${prefix}${suffix}`;
  };
  return identity.kind === "function" ? `${id("AROA")}:${identity.name}` : id("AIDA");
}
