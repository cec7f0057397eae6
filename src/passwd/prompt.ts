// The password for `starling passwd FILE USER`: from a terminal, asked twice with echo off (raw
// mode: Enter ends it, Backspace erases, Ctrl-C aborts); from a pipe or a file, its first line,
// once (scripts: `printf '%s\n' "$PW" | starling passwd FILE USER`).

export async function readPassword(stdin: NodeJS.ReadStream = process.stdin, out: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!stdin.isTTY) return readLine(stdin);
  const first = await askHidden(stdin, out, 'Password: ');
  const second = await askHidden(stdin, out, 'Reenter password: ');
  if (first !== second) throw new Error('the passwords do not match');
  return first;
}

function askHidden(stdin: NodeJS.ReadStream, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
      if (error !== undefined) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('interrupted'));
        if (ch === '\u0004') return text === '' ? finish(new Error('no password given')) : finish();
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    // Echo off before the prompt shows: what is typed once it is there is never echoed.
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    out.write(prompt);
  });
}

/** The first line of a stream that is not a terminal (without its end of line). */
function readLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', reject);
      stdin.pause();
      const newline = text.indexOf('\n');
      resolve((newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n')) finish();
    };
    const onEnd = (): void => {
      if (text === '') reject(new Error('no password on stdin'));
      else finish();
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', reject);
    stdin.resume();
  });
}
