/**
 * @peculiar/x509 with what it needs loaded first. Version 2 resolves its parsers through tsyringe,
 * which requires a Reflect metadata polyfill to be installed before the library's own code runs
 * (its README asks the application to import one). ES modules evaluate their imports in source
 * order, so importing the library only through this file guarantees the order. It signs with
 * WebCrypto: Node 24's globalThis.crypto.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
