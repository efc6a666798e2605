//! The HSM device of the QENEX host: a PKCS#11 token reached through the
//! `cryptoki` crate.
//!
//! One `Token` is one logged-in read/write session on the token whose label
//! the configuration names, in the PKCS#11 module the configuration names
//! (SoftHSM2 in development and CI, a vendor's library in production). Keys
//! are found by label: an ECDSA P-384 pair for signing, an AES-256 secret
//! for wrapping and AES-256-GCM. Private and secret keys are generated on the
//! token as sensitive and non-extractable: their values never leave it.
//!
//! Every operation that talks to the module can block (a network HSM waits
//! for its appliance), so each runs as a `HsmTask` on a libuv worker; the
//! session is behind a mutex because a PKCS#11 session serves one call at a
//! time.
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use napi::{Env, Task};

use crate::error::IoFailure;

/// The module could not be loaded, the token is absent, or the PIN is wrong.
pub const CODE_CONFIG: &str = "EHSM_CONFIG";
/// No key with that label and kind is on the token.
pub const CODE_NO_KEY: &str = "EHSM_NOKEY";
/// A key with that label already exists (generation refuses to duplicate).
pub const CODE_EXISTS: &str = "EHSM_EXISTS";
/// The token refused to reveal or wrap a key: it is sensitive/non-extractable.
pub const CODE_UNEXTRACTABLE: &str = "EHSM_UNEXTRACTABLE";
/// Authenticated decryption failed: wrong key, wrong IV/AAD, or tampering.
pub const CODE_AUTH: &str = "EHSM_AUTH";
/// Any other failure the module reported.
pub const CODE_HSM: &str = "EHSM";

/// DER of the named curve secp384r1 (OID 1.3.132.0.34), for CKA_EC_PARAMS.
const P384_PARAMS: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// An uncompressed P-384 point: 0x04 || X(48) || Y(48).
const P384_POINT_BYTES: usize = 97;
pub const GCM_IV_BYTES: usize = 12;
const GCM_TAG_BITS: u64 = 128;
pub const RANDOM_BYTES_MAX: u32 = 1 << 20;

fn failure(code: &'static str, message: String) -> IoFailure {
    IoFailure { code, message }
}

fn ck_failure(op: &str, err: CkError) -> IoFailure {
    let code = match &err {
        CkError::Pkcs11(RvError::AttributeSensitive, _)
        | CkError::Pkcs11(RvError::KeyUnextractable, _) => CODE_UNEXTRACTABLE,
        CkError::Pkcs11(RvError::EncryptedDataInvalid, _)
        | CkError::Pkcs11(RvError::EncryptedDataLenRange, _) => CODE_AUTH,
        CkError::Pkcs11(RvError::PinIncorrect, _)
        | CkError::Pkcs11(RvError::PinLenRange, _)
        | CkError::Pkcs11(RvError::PinLocked, _)
        | CkError::LibraryLoading(_) => CODE_CONFIG,
        _ => CODE_HSM,
    };
    failure(code, format!("hsm {op}: {err}"))
}

/// One loaded and initialised module per path: C_Initialize may run only once
/// per process, and several `Token`s (tests, the CLI) may share a module.
fn module(path: &str) -> Result<Pkcs11, IoFailure> {
    static MODULES: OnceLock<Mutex<HashMap<String, Pkcs11>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = modules.get(path) {
        return Ok(found.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|err| {
        failure(
            CODE_CONFIG,
            format!("hsm open: cannot load the PKCS#11 module {path}: {err}"),
        )
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(err) => return Err(ck_failure("C_Initialize", err)),
    }
    modules.insert(path.to_string(), ctx.clone());
    Ok(ctx)
}

/// Which key a call means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The private half of an ECDSA P-384 pair.
    SigningPrivate,
    /// The public half of an ECDSA P-384 pair.
    SigningPublic,
    /// An AES-256 secret key.
    Secret,
}

impl KeyKind {
    fn class(self) -> ObjectClass {
        match self {
            KeyKind::SigningPrivate => ObjectClass::PRIVATE_KEY,
            KeyKind::SigningPublic => ObjectClass::PUBLIC_KEY,
            KeyKind::Secret => ObjectClass::SECRET_KEY,
        }
    }
    fn name(self) -> &'static str {
        match self {
            KeyKind::SigningPrivate => "ECDSA P-384 private key",
            KeyKind::SigningPublic => "ECDSA P-384 public key",
            KeyKind::Secret => "AES-256 key",
        }
    }
}

pub struct Token {
    module_path: String,
    token_label: String,
    session: Mutex<Session>,
}

/// The one token object of `class` with `label`, if any. Labels name keys
/// and data objects, so two objects of one class with one label are refused.
fn find_labelled(session: &Session, label: &str, class: ObjectClass, what: &str) -> Result<Option<ObjectHandle>, IoFailure> {
    let template = [
        Attribute::Token(true),
        Attribute::Class(class),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let found = session
        .find_objects(&template)
        .map_err(|err| ck_failure("C_FindObjects", err))?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => Err(failure(
            CODE_HSM,
            format!("hsm: {n} objects are labelled {label:?} as {what}; labels must be unique"),
        )),
    }
}

impl Token {
    /// Loads `module_path`, finds the initialised token labelled
    /// `token_label` and logs in as its user with `pin`.
    pub fn open(module_path: &str, token_label: &str, pin: &str) -> Result<Token, IoFailure> {
        let ctx = module(module_path)?;
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(|err| ck_failure("C_GetSlotList", err))?;
        let mut seen = Vec::new();
        let mut chosen = None;
        for slot in slots {
            let info = ctx
                .get_token_info(slot)
                .map_err(|err| ck_failure("C_GetTokenInfo", err))?;
            let label = info.label().trim_end().to_string();
            if label == token_label {
                chosen = Some(slot);
                break;
            }
            seen.push(label);
        }
        let slot = chosen.ok_or_else(|| {
            failure(
                CODE_CONFIG,
                format!(
                    "hsm open: no initialised token labelled {token_label:?} in {module_path} (tokens: {})",
                    if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
                ),
            )
        })?;
        let session = ctx
            .open_rw_session(slot)
            .map_err(|err| ck_failure("C_OpenSession", err))?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(err) => {
                let mut f = ck_failure("C_Login", err);
                if f.code == CODE_CONFIG {
                    f.message = format!(
                        "hsm open: the token {token_label:?} refused the PIN ({})",
                        f.message
                    );
                }
                return Err(f);
            }
        }
        Ok(Token {
            module_path: module_path.to_string(),
            token_label: token_label.to_string(),
            session: Mutex::new(session),
        })
    }

    pub fn module_path(&self) -> &str {
        &self.module_path
    }
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn find(session: &Session, label: &str, kind: KeyKind) -> Result<Option<ObjectHandle>, IoFailure> {
        find_labelled(session, label, kind.class(), kind.name())
    }

    fn need(session: &Session, label: &str, kind: KeyKind) -> Result<ObjectHandle, IoFailure> {
        Self::find(session, label, kind)?.ok_or_else(|| {
            failure(CODE_NO_KEY, format!("hsm: no {} labelled {label:?} on the token", kind.name()))
        })
    }

    fn public_point(session: &Session, key: ObjectHandle) -> Result<Vec<u8>, IoFailure> {
        let attrs = session
            .get_attributes(key, &[AttributeType::EcPoint])
            .map_err(|err| ck_failure("C_GetAttributeValue", err))?;
        for attr in attrs {
            if let Attribute::EcPoint(der) = attr {
                return point_from_der(&der);
            }
        }
        Err(failure(CODE_HSM, "hsm: the public key has no CKA_EC_POINT".to_string()))
    }

    /// Creates an ECDSA P-384 pair labelled `label`; refuses if one exists.
    /// Returns the public point (0x04 || X || Y).
    pub fn generate_signing_key(&self, label: &str) -> Result<Vec<u8>, IoFailure> {
        let session = self.lock();
        if Self::find(&session, label, KeyKind::SigningPrivate)?.is_some() {
            return Err(failure(CODE_EXISTS, format!("hsm: a signing key labelled {label:?} already exists")));
        }
        let id = label.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::EcParams(P384_PARAMS.to_vec()),
            Attribute::Verify(true),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
            Attribute::Sign(true),
        ];
        let (pub_key, _) = session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(|err| ck_failure("C_GenerateKeyPair", err))?;
        Self::public_point(&session, pub_key)
    }

    /// The public point of the signing pair labelled `label`.
    pub fn signing_public_key(&self, label: &str) -> Result<Vec<u8>, IoFailure> {
        let session = self.lock();
        let key = Self::need(&session, label, KeyKind::SigningPublic)?;
        Self::public_point(&session, key)
    }

    /// Creates an AES-256 key labelled `label`; refuses if one exists.
    pub fn generate_secret_key(&self, label: &str) -> Result<(), IoFailure> {
        let session = self.lock();
        if Self::find(&session, label, KeyKind::Secret)?.is_some() {
            return Err(failure(CODE_EXISTS, format!("hsm: an AES key labelled {label:?} already exists")));
        }
        let template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32u64.into()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(label.as_bytes().to_vec()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
        ];
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|err| ck_failure("C_GenerateKey", err))?;
        Ok(())
    }

    pub fn has_key(&self, label: &str, kind: KeyKind) -> Result<bool, IoFailure> {
        let session = self.lock();
        Ok(Self::find(&session, label, kind)?.is_some())
    }

    /// ECDSA P-384 over SHA-384(data), as r || s (96 bytes, IEEE P1363).
    /// The digest is taken by the token too, so this works with modules that
    /// offer CKM_ECDSA but not CKM_ECDSA_SHA384.
    pub fn sign(&self, label: &str, data: &[u8]) -> Result<Vec<u8>, IoFailure> {
        let session = self.lock();
        let key = Self::need(&session, label, KeyKind::SigningPrivate)?;
        let digest = session
            .digest(&Mechanism::Sha384, data)
            .map_err(|err| ck_failure("C_Digest", err))?;
        session
            .sign(&Mechanism::Ecdsa, key, &digest)
            .map_err(|err| ck_failure("C_Sign", err))
    }

    /// Verifies an r || s signature over SHA-384(data); false when it does not match.
    pub fn verify(&self, label: &str, data: &[u8], signature: &[u8]) -> Result<bool, IoFailure> {
        let session = self.lock();
        let key = Self::need(&session, label, KeyKind::SigningPublic)?;
        let digest = session
            .digest(&Mechanism::Sha384, data)
            .map_err(|err| ck_failure("C_Digest", err))?;
        match session.verify(&Mechanism::Ecdsa, key, &digest, signature) {
            Ok(()) => Ok(true),
            Err(CkError::Pkcs11(RvError::SignatureInvalid, _))
            | Err(CkError::Pkcs11(RvError::SignatureLenRange, _)) => Ok(false),
            Err(err) => Err(ck_failure("C_Verify", err)),
        }
    }

    /// AES-256-GCM with a 12-byte IV and 16-byte tag: returns ciphertext || tag.
    pub fn encrypt(&self, label: &str, iv: &[u8], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, IoFailure> {
        check_iv(iv)?;
        let session = self.lock();
        let key = Self::need(&session, label, KeyKind::Secret)?;
        let mut iv = iv.to_vec();
        let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into())
            .map_err(|err| ck_failure("GCM parameters", err))?;
        session
            .encrypt(&Mechanism::AesGcm(params), key, plain)
            .map_err(|err| ck_failure("C_Encrypt", err))
    }

    /// Inverse of `encrypt`; any change to key, IV, AAD or bytes fails with EHSM_AUTH.
    pub fn decrypt(&self, label: &str, iv: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, IoFailure> {
        check_iv(iv)?;
        if sealed.len() < (GCM_TAG_BITS / 8) as usize {
            return Err(failure(CODE_AUTH, format!("hsm decrypt: {} bytes is shorter than the 16-byte tag", sealed.len())));
        }
        let session = self.lock();
        let key = Self::need(&session, label, KeyKind::Secret)?;
        let mut iv = iv.to_vec();
        let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into())
            .map_err(|err| ck_failure("GCM parameters", err))?;
        session
            .decrypt(&Mechanism::AesGcm(params), key, sealed)
            .map_err(|err| {
                let mut f = ck_failure("C_Decrypt", err);
                // Tokens differ in which code a bad tag yields; any failure of
                // an authenticated decryption is an authentication failure.
                if f.code == CODE_HSM {
                    f.code = CODE_AUTH;
                }
                f
            })
    }

    pub fn random(&self, count: u32) -> Result<Vec<u8>, IoFailure> {
        if count > RANDOM_BYTES_MAX {
            return Err(failure(
                crate::error::CODE_BAD_ARGUMENT,
                format!("hsm random: {count} bytes asked, at most {RANDOM_BYTES_MAX}"),
            ));
        }
        let session = self.lock();
        session
            .generate_random_vec(count)
            .map_err(|err| ck_failure("C_GenerateRandom", err))
    }

    /// Tries to take a private or secret key's value out of the token, first
    /// by reading CKA_VALUE, then by wrapping it under the AES key
    /// `wrapping_label`. A correctly made key refuses both (EHSM_UNEXTRACTABLE);
    /// this exists so that tests and operators can prove it.
    pub fn export_key(&self, label: &str, kind: KeyKind, wrapping_label: &str) -> Result<Vec<u8>, IoFailure> {
        let session = self.lock();
        let key = Self::need(&session, label, kind)?;
        let info = session
            .get_attribute_info(key, &[AttributeType::Value])
            .map_err(|err| ck_failure("C_GetAttributeValue", err))?;
        let readable = matches!(info.first(), Some(AttributeInfo::Available(_)));
        if readable {
            let attrs = session
                .get_attributes(key, &[AttributeType::Value])
                .map_err(|err| ck_failure("C_GetAttributeValue", err))?;
            for attr in attrs {
                if let Attribute::Value(bytes) = attr {
                    return Ok(bytes);
                }
            }
        }
        let wrapping = Self::need(&session, wrapping_label, KeyKind::Secret)?;
        match session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key) {
            Ok(bytes) => Ok(bytes),
            Err(CkError::Pkcs11(
                rv @ (RvError::KeyUnextractable | RvError::KeyNotWrappable | RvError::AttributeSensitive),
                _,
            )) => Err(failure(
                CODE_UNEXTRACTABLE,
                format!("hsm export {label:?}: refused: CKA_VALUE is sensitive and C_WrapKey said {rv:?}"),
            )),
            Err(err) => Err(ck_failure("C_WrapKey", err)),
        }
    }
}

impl Token {
    fn find_data(session: &Session, label: &str) -> Result<Option<ObjectHandle>, IoFailure> {
        find_labelled(session, label, ObjectClass::DATA, "data object")
    }

    /// Stores `value` as a private token data object labelled `label`
    /// (readable only after login). Refuses to replace one.
    pub fn put_data(&self, label: &str, value: &[u8]) -> Result<(), IoFailure> {
        let session = self.lock();
        if Self::find_data(&session, label)?.is_some() {
            return Err(failure(CODE_EXISTS, format!("hsm: a data object labelled {label:?} already exists")));
        }
        let template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Class(ObjectClass::DATA),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Application(DATA_APPLICATION.as_bytes().to_vec()),
            Attribute::Value(value.to_vec()),
        ];
        session
            .create_object(&template)
            .map_err(|err| ck_failure("C_CreateObject", err))?;
        Ok(())
    }

    /// The value of the data object labelled `label` (EHSM_NOKEY if absent).
    pub fn get_data(&self, label: &str) -> Result<Vec<u8>, IoFailure> {
        let session = self.lock();
        let object = Self::find_data(&session, label)?.ok_or_else(|| {
            failure(CODE_NO_KEY, format!("hsm: no data object labelled {label:?} on the token"))
        })?;
        let attrs = session
            .get_attributes(object, &[AttributeType::Value])
            .map_err(|err| ck_failure("C_GetAttributeValue", err))?;
        for attr in attrs {
            if let Attribute::Value(bytes) = attr {
                return Ok(bytes);
            }
        }
        Ok(Vec::new())
    }
}

/// CKA_APPLICATION of the data objects this device stores.
const DATA_APPLICATION: &str = "qenex";

fn check_iv(iv: &[u8]) -> Result<(), IoFailure> {
    if iv.len() != GCM_IV_BYTES {
        return Err(failure(
            crate::error::CODE_BAD_ARGUMENT,
            format!("hsm: an AES-GCM IV is {GCM_IV_BYTES} bytes, got {}", iv.len()),
        ));
    }
    Ok(())
}

/// CKA_EC_POINT is a DER OCTET STRING holding the point; some modules give
/// the bare point. Either way we return the 97-byte uncompressed point.
fn point_from_der(der: &[u8]) -> Result<Vec<u8>, IoFailure> {
    if der.len() == P384_POINT_BYTES && der[0] == 0x04 {
        return Ok(der.to_vec());
    }
    if der.len() == P384_POINT_BYTES + 2 && der[0] == 0x04 && der[1] as usize == P384_POINT_BYTES && der[2] == 0x04 {
        return Ok(der[2..].to_vec());
    }
    Err(failure(
        CODE_HSM,
        format!("hsm: CKA_EC_POINT of {} bytes is not an uncompressed P-384 point", der.len()),
    ))
}

/// One call, run on a libuv worker.
pub enum HsmJob {
    GenerateSigningKey { label: String },
    SigningPublicKey { label: String },
    GenerateSecretKey { label: String },
    HasKey { label: String, kind: KeyKind },
    Sign { label: String, data: Vec<u8> },
    Verify { label: String, data: Vec<u8>, signature: Vec<u8> },
    Encrypt { label: String, iv: Vec<u8>, aad: Vec<u8>, data: Vec<u8> },
    Decrypt { label: String, iv: Vec<u8>, aad: Vec<u8>, data: Vec<u8> },
    Random { count: u32 },
    PutData { label: String, value: Vec<u8> },
    GetData { label: String },
    Export { label: String, kind: KeyKind, wrapping_label: String },
}

pub enum HsmOutput {
    Bytes(Vec<u8>),
    Flag(bool),
    Nothing,
}

pub struct HsmTask {
    token: Arc<Token>,
    job: HsmJob,
}

impl HsmTask {
    pub fn new(token: Arc<Token>, job: HsmJob) -> Self {
        HsmTask { token, job }
    }

    fn run(&self) -> Result<HsmOutput, IoFailure> {
        let t = &self.token;
        Ok(match &self.job {
            HsmJob::GenerateSigningKey { label } => HsmOutput::Bytes(t.generate_signing_key(label)?),
            HsmJob::SigningPublicKey { label } => HsmOutput::Bytes(t.signing_public_key(label)?),
            HsmJob::GenerateSecretKey { label } => {
                t.generate_secret_key(label)?;
                HsmOutput::Nothing
            }
            HsmJob::HasKey { label, kind } => HsmOutput::Flag(t.has_key(label, *kind)?),
            HsmJob::Sign { label, data } => HsmOutput::Bytes(t.sign(label, data)?),
            HsmJob::Verify { label, data, signature } => HsmOutput::Flag(t.verify(label, data, signature)?),
            HsmJob::Encrypt { label, iv, aad, data } => HsmOutput::Bytes(t.encrypt(label, iv, aad, data)?),
            HsmJob::Decrypt { label, iv, aad, data } => HsmOutput::Bytes(t.decrypt(label, iv, aad, data)?),
            HsmJob::Random { count } => HsmOutput::Bytes(t.random(*count)?),
            HsmJob::PutData { label, value } => {
                t.put_data(label, value)?;
                HsmOutput::Nothing
            }
            HsmJob::GetData { label } => HsmOutput::Bytes(t.get_data(label)?),
            HsmJob::Export { label, kind, wrapping_label } => {
                HsmOutput::Bytes(t.export_key(label, *kind, wrapping_label)?)
            }
        })
    }
}

impl Task for HsmTask {
    type Output = Result<HsmOutput, IoFailure>;
    type JsValue = napi::bindgen_prelude::Either3<napi::bindgen_prelude::Buffer, bool, ()>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.run())
    }

    fn resolve(&mut self, env: Env, outcome: Self::Output) -> napi::Result<Self::JsValue> {
        use napi::bindgen_prelude::Either3;
        match outcome {
            Ok(HsmOutput::Bytes(bytes)) => Ok(Either3::A(bytes.into())),
            Ok(HsmOutput::Flag(flag)) => Ok(Either3::B(flag)),
            Ok(HsmOutput::Nothing) => Ok(Either3::C(())),
            Err(failure) => Err(failure.into_rejection(env)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_is_unwrapped_from_its_octet_string() {
        // Proves both encodings modules use for CKA_EC_POINT give the bare point.
        let mut point = vec![0x04u8];
        point.extend([7u8; 96]);
        let mut der = vec![0x04u8, 97];
        der.extend(&point);
        assert_eq!(point_from_der(&der).unwrap(), point);
        assert_eq!(point_from_der(&point).unwrap(), point);
        assert!(point_from_der(&point[..50]).is_err());
    }
}
