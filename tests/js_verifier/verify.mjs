#!/usr/bin/env node
/*
 * Independent verifier for Open Badges 3.0 credentials secured with a
 * DataIntegrityProof (cryptosuite eddsa-rdfc-2022), built on Digital Bazaar's
 * maintained JavaScript VC stack. Run from the Python test suite
 * (tests/jsverify.py); never reaches the network.
 *
 *   node verify.mjs REQUEST.json
 *
 * REQUEST.json:
 *   {
 *     "credential": {...},                 // the signed credential
 *     "documents": {"<url>": <json>, ...},  // DID documents, controller
 *                                          // documents, status list VCs
 *     "contextsDir": "<path>",             // bundled JSON-LD contexts
 *     "checkStatus": true|false,
 *     "now": "<iso date-time>"             // optional
 *   }
 *
 * Prints ONE JSON line on stdout:
 *   {"verified": bool, "statusRevoked": bool|null, "errors": [string, ...]}
 * and exits 0. Exit code 2 is reserved for usage errors (bad arguments,
 * unreadable or malformed request).
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus as bitstringCheckStatus} from
  '@digitalbazaar/vc-bitstring-status-list';
import {driver as didKeyDriverFactory} from '@digitalbazaar/did-method-key';

// JSON-LD contexts served from the project's bundled files, by the URL each
// declares for itself. Files are read from `contextsDir` at run time.
const CONTEXT_FILES = new Map([
  ['https://www.w3.org/ns/credentials/v2', 'credentials-v2.jsonld'],
  ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    'ob-v3p0-context-3.0.3.json'],
  ['https://w3id.org/security/data-integrity/v2', 'data-integrity-v2.jsonld'],
  ['https://w3id.org/security/multikey/v1', 'multikey-v1.jsonld'],
  ['https://www.w3.org/ns/did/v1', 'did-v1.jsonld'],
]);
// The project's own context is published under the issuing site, so any
// URL whose path ends like this is served from the bundled file.
const MICROCRED_CONTEXT_PATH = '/microcred/contexts/microcredential-v1.jsonld';
const MICROCRED_CONTEXT_FILE = 'microcredential-v1.jsonld';

function usage(message) {
  process.stderr.write(`${message}\nusage: node verify.mjs REQUEST.json\n`);
  process.exit(2);
}

function contextFileFor(url) {
  if(CONTEXT_FILES.has(url)) {
    return CONTEXT_FILES.get(url);
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch{
    return null;
  }
  if((parsed.protocol === 'https:' || parsed.protocol === 'http:') &&
    parsed.pathname.endsWith(MICROCRED_CONTEXT_PATH)) {
    return MICROCRED_CONTEXT_FILE;
  }
  return null;
}

function splitFragment(url) {
  const i = url.indexOf('#');
  return i === -1 ? [url, null] : [url.slice(0, i), url.slice(i + 1)];
}

// Find the node with the given full id inside a DID / controller document
// (verificationMethod and the verification relationships may embed it).
function findNode(doc, baseUrl, fragment) {
  const wanted = `${baseUrl}#${fragment}`;
  const matches = id => id === wanted || id === `#${fragment}`;
  const seen = new Set();
  const stack = [doc];
  while(stack.length) {
    const node = stack.pop();
    if(!node || typeof node !== 'object' || seen.has(node)) {
      continue;
    }
    seen.add(node);
    if(Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if(node !== doc && typeof node.id === 'string' && matches(node.id)) {
      const found = structuredClone(node);
      found.id = wanted;
      if(!found['@context'] && doc['@context']) {
        found['@context'] = doc['@context'];
      }
      if(!found.controller && typeof doc.id === 'string') {
        found.controller = doc.id;
      }
      return found;
    }
    for(const [key, value] of Object.entries(node)) {
      if(key !== '@context') {
        stack.push(value);
      }
    }
  }
  return null;
}

function makeDocumentLoader({contextsDir, documents}) {
  const didKeyDriver = didKeyDriverFactory();
  didKeyDriver.use({
    multibaseMultikeyHeader: 'z6Mk',
    fromMultibase: Ed25519Multikey.from
  });
  const contextCache = new Map();

  return async function documentLoader(url) {
    const result = document => ({
      contextUrl: null,
      documentUrl: url,
      document: structuredClone(document)
    });

    // 1. bundled JSON-LD contexts
    const file = contextFileFor(url);
    if(file) {
      if(!contextCache.has(file)) {
        const path = join(contextsDir, file);
        let text;
        try {
          text = readFileSync(path, 'utf8');
        } catch(e) {
          throw new Error(
            `Document loader: context "${url}" maps to "${path}", which ` +
            `cannot be read (${e.code || e.message}).`);
        }
        contextCache.set(file, JSON.parse(text));
      }
      return result(contextCache.get(file));
    }

    // 2. documents supplied with the request (exact URL first, then the
    //    node a fragment names inside the supplied base document)
    if(Object.hasOwn(documents, url)) {
      return result(documents[url]);
    }
    const [base, fragment] = splitFragment(url);
    if(fragment !== null && Object.hasOwn(documents, base)) {
      const node = findNode(documents[base], base, fragment);
      if(node) {
        return result(node);
      }
      throw new Error(
        `Document loader: "${base}" was supplied but has no node "${url}".`);
    }

    // 3. did:key resolves from the key itself
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return result(document);
    }

    throw new Error(
      `Document loader: no local document for URL "${url}" ` +
      '(network access is disabled).');
  };
}

// Flatten an error (and nested errors / causes) into readable strings.
function errorMessages(error, out = [], seen = new Set()) {
  if(!error || seen.has(error)) {
    return out;
  }
  seen.add(error);
  if(Array.isArray(error)) {
    error.forEach(e => errorMessages(e, out, seen));
    return out;
  }
  const nested = Array.isArray(error.errors) ? error.errors : [];
  let message = error.message || String(error);
  // jsonld safe mode: say which property / value was dropped
  const event = error.details?.event;
  if(event?.message) {
    message += ` ${event.message}` +
      (event.details ? ` ${JSON.stringify(event.details)}` : '');
  }
  // a VerificationError just wraps its `errors`; don't repeat its summary
  if(!(error.name === 'VerificationError' && nested.length)) {
    out.push(error.name && error.name !== 'Error' ?
      `${error.name}: ${message}` : message);
  }
  nested.forEach(e => errorMessages(e, out, seen));
  if(error.cause) {
    errorMessages(error.cause, out, seen);
  }
  // jsonld wraps document loader failures in `details.cause`
  if(error.details?.cause) {
    errorMessages(error.details.cause, out, seen);
  }
  return out;
}

function collectErrors(result) {
  const errors = [];
  const seen = new Set();
  errorMessages(result.error, errors, seen);
  for(const r of result.results || []) {
    if(!r.verified) {
      errorMessages(r.error, errors, seen);
      errorMessages(r.purposeResult?.error, errors, seen);
    }
  }
  const status = result.statusResult;
  if(status) {
    errorMessages(status.error, errors, seen);
    for(const r of status.results || []) {
      errorMessages(r.error, errors, seen);
    }
  }
  return [...new Set(errors)];
}

async function main() {
  const args = process.argv.slice(2);
  if(args.length !== 1) {
    usage('expected exactly one argument');
  }
  let request;
  try {
    request = JSON.parse(readFileSync(args[0], 'utf8'));
  } catch(e) {
    usage(`cannot read request "${args[0]}": ${e.message}`);
  }
  const {
    credential, documents = {}, contextsDir, checkStatus = false, now
  } = request ?? {};
  if(!credential || typeof credential !== 'object') {
    usage('request needs "credential" (an object)');
  }
  if(typeof contextsDir !== 'string') {
    usage('request needs "contextsDir" (a path)');
  }
  if(typeof documents !== 'object' || Array.isArray(documents)) {
    usage('"documents" must be an object mapping URLs to documents');
  }

  const documentLoader = makeDocumentLoader({contextsDir, documents});
  const suite = new DataIntegrityProof({
    cryptosuite: eddsaRdfc2022CryptoSuite
  });
  const options = {credential, suite, documentLoader};
  if(now) {
    options.now = now;
  }
  if(checkStatus) {
    options.checkStatus = bitstringCheckStatus;
  } else if(credential.credentialStatus) {
    // vc refuses credentials with a status unless given a checker; the
    // caller asked not to check it.
    options.checkStatus = async () => ({verified: true});
  }

  let result;
  try {
    result = await vc.verifyCredential(options);
  } catch(e) {
    result = {verified: false, error: e};
  }

  let statusRevoked = null;
  const statusResult = result.statusResult;
  if(checkStatus && statusResult?.verified && statusResult.results) {
    statusRevoked = statusResult.results.some(r =>
      r.credentialStatus?.statusPurpose === 'revocation' && r.status === true);
  }
  const output = {
    verified: result.verified === true,
    statusRevoked,
    errors: result.verified === true && statusResult?.verified !== false ?
      [] : collectErrors(result)
  };
  process.stdout.write(JSON.stringify(output) + '\n');
}

main().catch(e => {
  // unexpected failure of the verifier itself: still one JSON line
  process.stdout.write(JSON.stringify({
    verified: false, statusRevoked: null, errors: errorMessages(e)
  }) + '\n');
});
