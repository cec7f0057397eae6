// The plugin of compare's `starling-hook-publish` broker: authorizePublish and authorizeSubscribe
// answered through promises (the hooks an Aedes user writes async), no authorizeDelivery.
const allowed = (topic) => topic.startsWith('starling-bench/');

export default {
  async authorizePublish(_client, message) {
    return allowed(message.topic);
  },
  async authorizeSubscribe(_client, { filter }) {
    return allowed(filter);
  },
};
