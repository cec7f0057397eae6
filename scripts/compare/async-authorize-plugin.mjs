// The plugin of compare's `starling-hook` broker (issue #13: the cost of an async authorize hook):
// every PUBLISH, SUBSCRIBE and delivery is answered through a promise, as a plugin that looked
// the client's rights up elsewhere would answer (here from memory, so what is measured is the
// broker's cost of waiting for an answer, not a lookup's).
const allowed = (topic) => topic.startsWith('starling-bench/');

export default {
  async authorizePublish(_client, message) {
    return allowed(message.topic);
  },
  async authorizeSubscribe(_client, { filter }) {
    return allowed(filter);
  },
  async authorizeDelivery(_client, message) {
    return allowed(message.topic);
  },
};
