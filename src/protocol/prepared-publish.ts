// Fan-out fast path: topic, properties and payload are encoded once; each subscriber's frame
// differs only in the first byte (QoS/RETAIN/DUP) and the packet identifier.
import { propertiesBodyLength, writeProperties } from './properties.js';
import { publishFlags } from './packets/publish.js';
import type { Properties, ProtocolVersion, QoS } from './types.js';
import { allocFrame, writeBytes, utf8Length, varintLength, writeU16, writeUtf8, writeVarint } from './writer.js';

export class PreparedPublish {
  /** Frame with QoS 1 layout (packet id 0); QoS>0 frames copy it and patch byte 0 and the id. */
  private readonly template: Buffer;
  private readonly packetIdOffset: number;
  private readonly topicLength: number;
  private readonly topic: string;
  private readonly payload: Buffer;
  private readonly version: ProtocolVersion;
  private readonly properties: Properties | undefined;
  private qos0: Buffer | undefined;
  private qos0Retained: Buffer | undefined;

  constructor(topic: string, payload: Buffer, version: ProtocolVersion, properties?: Properties) {
    this.topic = topic;
    this.payload = payload;
    this.version = version;
    this.properties = properties;
    this.topicLength = utf8Length(topic);
    const built = this.build(2);
    this.template = built;
    this.packetIdOffset = 1 + varintLength(this.remainingLength(2)) + 2 + this.topicLength;
  }

  private remainingLength(idBytes: number): number {
    const propsLen = this.version === 5 ? propertiesBodyLength(this.properties) : -1;
    return 2 + this.topicLength + idBytes + (propsLen >= 0 ? varintLength(propsLen) + propsLen : 0) + this.payload.length;
  }

  private build(idBytes: number): Buffer {
    const rl = this.remainingLength(idBytes);
    const buf = allocFrame(1 + varintLength(rl) + rl);
    buf[0] = 0x30;
    let pos = writeVarint(buf, 1, rl);
    pos = writeUtf8(buf, pos, this.topic, this.topicLength);
    if (idBytes > 0) pos = writeU16(buf, pos, 0);
    if (this.version === 5) pos = writeProperties(buf, pos, this.properties, propertiesBodyLength(this.properties));
    writeBytes(buf, pos, this.payload);
    return buf;
  }

  /** QoS 0 frames are shared Buffers (never mutate them); QoS>0 frames are fresh copies. */
  frame(qos: QoS, retain: boolean, dup: boolean, messageId?: number): Buffer {
    if (qos === 0) {
      if (dup) throw new RangeError('DUP must be 0 for QoS 0 [MQTT-3.3.1-2]');
      if (retain) return (this.qos0Retained ??= this.buildQos0(true));
      return (this.qos0 ??= this.buildQos0(false));
    }
    if (messageId === undefined || messageId === 0) throw new RangeError('QoS > 0 needs a non-zero messageId [MQTT-2.3.1-1]');
    const out = allocFrame(this.template.length);
    out.set(this.template, 0);
    out[0] = publishFlags(qos, retain, dup);
    writeU16(out, this.packetIdOffset, messageId);
    return out;
  }

  private buildQos0(retain: boolean): Buffer {
    const buf = this.build(0);
    buf[0] = publishFlags(0, retain, false);
    return buf;
  }
}
