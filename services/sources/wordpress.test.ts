/** Reading the database settings out of wp-config.php. */
import { describe, expect, it } from 'vitest';
import { parseWpConfig } from './wordpress.ts';

describe('parseWpConfig', () => {
  it('reads the installer\'s define() lines, with escapes, ports and localhost', () => {
    const php = `<?php\ndefine( 'DB_NAME', 'blog' );\ndefine('DB_USER',"wp");\ndefine( 'DB_PASSWORD', 'it\\'s s3cret' );\ndefine( 'DB_HOST', 'db.internal:3307' );\n`;
    expect(parseWpConfig(php, 'x')).toEqual({ name: 'blog', user: 'wp', password: "it's s3cret", host: 'db.internal', port: 3307 });
    expect(parseWpConfig(php.replace("'db.internal:3307'", "'localhost'"), 'x')).toMatchObject({ host: '127.0.0.1', port: 3306 });
  });

  it('refuses settings it would have to guess', () => {
    expect(() => parseWpConfig(`<?php define('DB_NAME', getenv('DB'));`, 'site:/wp-config.php')).toThrow(/site:\/wp-config.php: DB_NAME, DB_USER and DB_PASSWORD are not all plain/);
  });
});
