// Node's "fs/promises": the promise forms from fs.js.

import { promises } from "fs";

export const readFile = promises.readFile, writeFile = promises.writeFile, appendFile = promises.appendFile,
  access = promises.access, readdir = promises.readdir, stat = promises.stat, lstat = promises.lstat,
  mkdir = promises.mkdir, rm = promises.rm, rmdir = promises.rmdir, unlink = promises.unlink,
  rename = promises.rename, copyFile = promises.copyFile, symlink = promises.symlink, link = promises.link;

export default promises;
