// The packet model shared by the decoder, the encoder and the broker.
// Field names follow mqtt-packet where it has one, so differential tests compare directly.

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

/** MQTT 5 properties. Which ones a packet may carry is checked by the decoder (§2.2.2.2, table 2-4). */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** PUBLISH (broker → client) may carry several; SUBSCRIBE carries at most one. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  /** Ordered name/value pairs; a name may repeat, the order is kept (v5:MQTT-3.1.3-10, MQTT-3.3.2-18). */
  userProperties?: Array<[string, string]>;
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifiersAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface ConnectPacket {
  cmd: 'connect';
  protocolName: 'MQTT' | 'MQIsdp';
  protocolVersion: ProtocolVersion;
  clean: boolean;
  keepalive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: Will;
  properties?: Properties;
}

export interface ConnackPacket {
  cmd: 'connack';
  sessionPresent: boolean;
  /** v3/v4: the return code 0..5; v5: the reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  cmd: 'publish';
  topic: string;
  /** A view into the read buffer when decoded: not copied unless it must outlive the read. */
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  messageId?: number;
  properties?: Properties;
}

export interface AckPacket {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  messageId: number;
  /** v5 only; absent means 0x00 Success. */
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topic: string;
  qos: QoS;
  /** v5 subscription options. */
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
}

export interface SubscribePacket {
  cmd: 'subscribe';
  messageId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  cmd: 'suback';
  messageId: number;
  /** Granted QoS (0..2) or failure code (0x80, and the v5 reason codes). */
  granted: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  cmd: 'unsubscribe';
  messageId: number;
  unsubscriptions: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  cmd: 'unsuback';
  messageId: number;
  /** v5 only. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket { cmd: 'pingreq' }
export interface PingrespPacket { cmd: 'pingresp' }

export interface DisconnectPacket {
  cmd: 'disconnect';
  /** v5 only; absent means 0x00 Normal disconnection. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  cmd: 'auth';
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket | ConnackPacket | PublishPacket | AckPacket
  | SubscribePacket | SubackPacket | UnsubscribePacket | UnsubackPacket
  | PingreqPacket | PingrespPacket | DisconnectPacket | AuthPacket;

export type PacketCmd = Packet['cmd'];

