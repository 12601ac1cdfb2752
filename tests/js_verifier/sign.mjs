#!/usr/bin/env node
/*
 * An issuer that is not this project: signs credentials with Digital Bazaar's
 * VC stack (@digitalbazaar/vc issue(), DataIntegrityProof with the
 * eddsa-rdfc-2022 cryptosuite, an Ed25519 Multikey from a seed, did:key).
 * Used by the external-credential tests (tests/jsverify.py js_sign) to make
 * credentials of a second, independent issuer; never reaches the network.
 *
 *   node sign.mjs REQUEST.json
 *
 * REQUEST.json: {"documents": [<unsigned credential>, ...],
 *                "seed": "<64 hex digits>", "contextsDir": "<path>"}
 * Prints ONE JSON line: {"did": "did:key:z6Mk...", "signed": [...]}.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {driver as didKeyDriverFactory} from '@digitalbazaar/did-method-key';

// The same bundled contexts verify.mjs serves (by the URL each declares).
const CONTEXT_FILES = new Map([
  ['https://www.w3.org/ns/credentials/v2', 'credentials-v2.jsonld'],
  ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    'ob-v3p0-context-3.0.3.json'],
  ['https://w3id.org/security/data-integrity/v2', 'data-integrity-v2.jsonld'],
  ['https://w3id.org/security/multikey/v1', 'multikey-v1.jsonld'],
  ['https://www.w3.org/ns/did/v1', 'did-v1.jsonld'],
]);

async function main() {
  const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const {documents, seed, contextsDir} = request;
  if(!Array.isArray(documents) || !/^[0-9a-f]{64}$/.test(seed ?? '') ||
    typeof contextsDir !== 'string') {
    process.stderr.write('request needs documents (a list), seed (64 hex ' +
      'digits) and contextsDir\n');
    process.exit(2);
  }
  const key = await Ed25519Multikey.generate(
    {seed: Uint8Array.from(Buffer.from(seed, 'hex'))});
  const did = `did:key:${key.publicKeyMultibase}`;
  key.controller = did;
  key.id = `${did}#${key.publicKeyMultibase}`;

  const didKeyDriver = didKeyDriverFactory();
  didKeyDriver.use({
    multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from
  });
  const documentLoader = async url => {
    const file = CONTEXT_FILES.get(url);
    if(file) {
      return {contextUrl: null, documentUrl: url,
        document: JSON.parse(readFileSync(join(contextsDir, file), 'utf8'))};
    }
    if(url.startsWith('did:key:')) {
      return {contextUrl: null, documentUrl: url,
        document: await didKeyDriver.get({url})};
    }
    throw new Error(`no local document for "${url}" (no network)`);
  };

  const signed = [];
  for(const credential of documents) {
    const suite = new DataIntegrityProof(
      {signer: key.signer(), cryptosuite: eddsaRdfc2022CryptoSuite});
    signed.push(await vc.issue({credential, suite, documentLoader}));
  }
  process.stdout.write(JSON.stringify({did, signed}) + '\n');
}

main().catch(e => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
