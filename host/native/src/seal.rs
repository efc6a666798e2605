//! Encryption at rest's primitives (host/devices/aead.ts): AES-256-GCM with
//! a detached 16-byte tag, and HMAC-SHA256. The record layout, the key
//! schedule and the nonces are the TypeScript side's (encrypted-backend.ts);
//! these two functions know bytes only. AES-NI and carry-less multiply are
//! used where the CPU has them, detected at run time by the aes and polyval
//! crates; node:crypto's OpenSSL gives the same bytes (a test holds them to it).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hmac::{Hmac, Mac};
use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;
use sha2::Sha256;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

fn reason(what: &str) -> napi::Error {
    napi::Error::from_reason(what.to_string())
}

/// Encrypts `plain` into `out` (its length + 16): ciphertext, then the tag.
#[napi]
pub fn aes_gcm_seal(key: BufferSlice, nonce: BufferSlice, aad: BufferSlice, plain: BufferSlice, mut out: BufferSlice) -> napi::Result<()> {
    if key.len() != KEY_BYTES || nonce.len() != NONCE_BYTES {
        return Err(reason("aes_gcm_seal: the key is 32 bytes and the nonce 12"));
    }
    let out: &mut [u8] = &mut out;
    if out.len() != plain.len() + TAG_BYTES {
        return Err(reason("aes_gcm_seal: the output is the plaintext's length plus 16"));
    }
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| reason("aes_gcm_seal: bad key"))?;
    let (body, tag_out) = out.split_at_mut(plain.len());
    body.copy_from_slice(&plain);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, body)
        .map_err(|_| reason("aes_gcm_seal: the plaintext is too long"))?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// Decrypts `sealed` (ciphertext, then the tag) into `out` (its length - 16);
/// false, with `out` zeroed, when the tag does not verify.
#[napi]
pub fn aes_gcm_open(key: BufferSlice, nonce: BufferSlice, aad: BufferSlice, sealed: BufferSlice, mut out: BufferSlice) -> napi::Result<bool> {
    if key.len() != KEY_BYTES || nonce.len() != NONCE_BYTES {
        return Err(reason("aes_gcm_open: the key is 32 bytes and the nonce 12"));
    }
    let out: &mut [u8] = &mut out;
    if sealed.len() < TAG_BYTES || out.len() != sealed.len() - TAG_BYTES {
        return Err(reason("aes_gcm_open: the output is the sealed length minus 16"));
    }
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| reason("aes_gcm_open: bad key"))?;
    let (body, tag) = sealed.split_at(out.len());
    out.copy_from_slice(body);
    if cipher.decrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, out, Tag::from_slice(tag)).is_err() {
        out.fill(0);
        return Ok(false);
    }
    Ok(true)
}

/// HMAC-SHA256(key, message) into `out` (32 bytes).
#[napi]
pub fn hmac_sha256(key: BufferSlice, message: BufferSlice, mut out: BufferSlice) -> napi::Result<()> {
    let out: &mut [u8] = &mut out;
    if out.len() != 32 {
        return Err(reason("hmac_sha256: the output is 32 bytes"));
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| reason("hmac_sha256: bad key"))?;
    mac.update(&message);
    out.copy_from_slice(&mac.finalize().into_bytes());
    Ok(())
}
