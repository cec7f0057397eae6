// Lint rules, including the import rules that keep the layers honest:
// protocol/ imports nothing of ours; only store/redis imports ioredis; only cluster/ imports node:cluster.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/store/redis/**', 'src/cluster/**', 'src/bench/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'ioredis', message: 'only store/redis imports ioredis' }, { name: 'node:cluster', message: 'only cluster/ imports node:cluster' }] }],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../broker/*', '../store/*', '../cluster/*', '../transport/*', '../../*', 'ioredis', 'pino', 'node:cluster'], message: 'protocol/ is a pure codec: it imports nothing else of ours' }] }],
    },
  },
);
