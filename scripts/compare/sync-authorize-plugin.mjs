// The plugin of compare's `starling-hook-sync` broker: the same decisions as
// async-authorize-plugin.mjs, answered synchronously (what a plugin with its rules in memory does).
const allowed = (topic) => topic.startsWith('starling-bench/');

export default {
  authorizePublish: (_client, message) => allowed(message.topic),
  authorizeSubscribe: (_client, { filter }) => allowed(filter),
  authorizeDelivery: (_client, message) => allowed(message.topic),
};
