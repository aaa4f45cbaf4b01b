//! sprig's random, hashing and crypto functions (sprig v3.3.0, `crypto.go` and `strings.go`),
//! as a Rust API and as template functions ([`register`]).
//!
//! Charts call these to mint passwords, tokens and TLS material at render time: `randAlphaNum`,
//! `uuidv4`, `genCA` with `genSignedCert`, `htpasswd`, `derivePassword` and the rest. The
//! outputs are random by design (except `derivePassword`, the hashes and `decryptAES`), so what
//! matters is their shape: alphabet and length of random strings, PEM block types of keys,
//! the X.509 fields of certificates. Those follow sprig:
//!
//! * Keys are written as Go's `pemBlockForKey` writes them: RSA as PKCS#1
//!   (`RSA PRIVATE KEY`), ECDSA P-256 as SEC1 (`EC PRIVATE KEY`), Ed25519 as PKCS#8 v1
//!   (`PRIVATE KEY`). `genPrivateKey "rsa"` makes a 4096-bit key; the certificate functions
//!   make 2048-bit keys when not given one. `genPrivateKey "dsa"` makes L = 2048, N = 256
//!   parameters and a key, written as sprig's `DSAKeyFormat` (`DSA PRIVATE KEY`: the
//!   sequence version 0, P, Q, G, Y, X). Go's X.509 code cannot sign with a DSA key or
//!   certify one, so the certificate functions refuse DSA keys with Go's messages.
//! * Certificates carry a random 128-bit serial, the common name as the whole subject,
//!   validity from now for `days` × 24 h, key usage digital signature + key encipherment
//!   (+ certificate signing for a CA), extended key usage server + client auth, basic
//!   constraints (`CA:TRUE` for a CA, `CA:FALSE` otherwise), the IP and DNS SANs given. A CA's
//!   subject key identifier is the SHA-1 of its public key, as Go computes it; a signed
//!   certificate's authority key identifier is its CA's subject key identifier.
//! * Signatures: SHA-256 with RSA, ECDSA P-256 with SHA-256, or Ed25519, after the signing key.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use fleet_gotemplate::{CallError, Funcs, GoValue, Numbers};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use serde_json::{Map, Value};
use sha1::Digest as _;

/// Why a random or crypto function failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// `genPrivateKey` was asked for a key type sprig does not know.
    #[error("unknown private key type {0:?}")]
    UnknownKeyType(String),
    /// Key generation or encoding failed.
    #[error("error generating {kind} key: {reason}")]
    KeyGeneration {
        /// The key type.
        kind: &'static str,
        /// What failed.
        reason: String,
    },
    /// A private key PEM did not parse.
    #[error("parsing private key: {0}")]
    PrivateKey(String),
    /// A certificate PEM or base64 did not parse.
    #[error("{0}")]
    Certificate(String),
    /// An IP SAN is not an IP address.
    #[error("error parsing ip: {0}")]
    Ip(String),
    /// The certificate could not be built or signed.
    #[error("error creating certificate: {0}")]
    Signing(String),
    /// `derivePassword` was given a template name sprig does not have.
    #[error("cannot find password template {0}")]
    PasswordTemplate(String),
    /// scrypt or bcrypt failed.
    #[error("failed to hash password: {0}")]
    PasswordHash(String),
    /// `decryptAES` got something that is not sprig's `encryptAES` output for this key.
    #[error("decryptAES: {0}")]
    Decrypt(String),
}

// ---------------------------------------------------------------------------------------------
// Random strings

fn random_bytes(count: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; count];
    getrandom::fill(&mut buf).map_err(|e| Error::Random(e.to_string()))?;
    Ok(buf)
}

/// `count` characters drawn uniformly from `alphabet` with the OS random source (rejection
/// sampling, so no character is favoured).
fn random_from(alphabet: &[u8], count: usize) -> Result<String, Error> {
    let n = alphabet.len();
    debug_assert!(n > 0 && n <= 256);
    // The largest multiple of n that fits a byte: bytes at or above it are redrawn.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for b in random_bytes((count - out.len()) * 2)? {
            if (b as usize) < limit && out.len() < count {
                out.push(alphabet[b as usize % n] as char);
            }
        }
    }
    Ok(out)
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

fn alphanumeric() -> Vec<u8> {
    [LETTERS, DIGITS].concat()
}

fn printable_ascii() -> Vec<u8> {
    (32u8..=126).collect()
}

/// `randAlphaNum`: letters and digits.
pub fn rand_alpha_num(count: usize) -> Result<String, Error> {
    random_from(&alphanumeric(), count)
}

/// `randAlpha`: ASCII letters.
pub fn rand_alpha(count: usize) -> Result<String, Error> {
    random_from(LETTERS, count)
}

/// `randNumeric`: decimal digits.
pub fn rand_numeric(count: usize) -> Result<String, Error> {
    random_from(DIGITS, count)
}

/// `randAscii`: printable ASCII, space (32) to tilde (126).
pub fn rand_ascii(count: usize) -> Result<String, Error> {
    random_from(&printable_ascii(), count)
}

/// `randBytes`: `count` random bytes, standard base64.
pub fn rand_bytes(count: usize) -> Result<String, Error> {
    Ok(BASE64.encode(random_bytes(count)?))
}

/// `uuidv4`: a random (version 4, RFC 4122 variant) UUID in its hyphenated lower-case form.
pub fn uuid_v4() -> Result<String, Error> {
    let mut b = random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

// ---------------------------------------------------------------------------------------------
// Hashes and passwords

/// `sha512sum`: hex SHA-512.
pub fn sha512sum(input: &str) -> String {
    hex::encode(sha2::Sha512::digest(input.as_bytes()))
}

/// `adler32sum`: Adler-32 in decimal.
pub fn adler32sum(input: &str) -> String {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in input.as_bytes() {
        a = (a + u32::from(byte)) % MOD;
        b = (b + a) % MOD;
    }
    ((b << 16) | a).to_string()
}

/// `bcrypt`: a bcrypt hash at Go's default cost (10), in Go's `$2a$` form.
pub fn bcrypt_hash(password: &str) -> Result<String, Error> {
    let parts =
        bcrypt::hash_with_result(password, 10).map_err(|e| Error::PasswordHash(e.to_string()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

/// `htpasswd`: `user:bcrypt(password)`. sprig returns `invalid username: <user>` as the text
/// (not an error) when the name holds a `:`.
pub fn htpasswd(username: &str, password: &str) -> Result<String, Error> {
    if username.contains(':') {
        return Ok(format!("invalid username: {username}"));
    }
    Ok(format!("{username}:{}", bcrypt_hash(password)?))
}

/// Master Password's templates: the first seed byte picks one, each following byte a
/// character of the class the template letter names.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn password_class(letter: u8) -> &'static [u8] {
    match letter {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// `derivePassword`: the Master Password algorithm (scrypt N=32768 r=8 p=2 over the user,
/// HMAC-SHA256 over the site and counter), as sprig implements it.
pub fn derive_password(
    counter: u32,
    kind: &str,
    password: &str,
    user: &str,
    site: &str,
) -> Result<String, Error> {
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let templates =
        password_templates(kind).ok_or_else(|| Error::PasswordTemplate(kind.to_string()))?;
    let with_length = |text: &str| {
        let mut v = SEED.to_vec();
        v.extend_from_slice(&(text.len() as u32).to_be_bytes());
        v.extend_from_slice(text.as_bytes());
        v
    };
    let salt = with_length(user);
    let params =
        scrypt::Params::new(15, 8, 2, 64).map_err(|e| Error::PasswordHash(e.to_string()))?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key)
        .map_err(|e| Error::PasswordHash(e.to_string()))?;
    let mut message = with_length(site);
    message.extend_from_slice(&counter.to_be_bytes());
    let seed = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        &message,
    );
    let seed = seed.as_ref();
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    Ok(template
        .iter()
        .enumerate()
        .map(|(i, &letter)| {
            let class = password_class(letter);
            class[seed[i + 1] as usize % class.len()] as char
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// AES

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// sprig's key: the password's bytes, zero-padded (or cut) to 32 bytes.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// `encryptAES`: AES-256-CBC with PKCS#7 padding and a random IV, base64(IV ‖ ciphertext).
/// The empty text stays empty.
pub fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, Error> {
    use cbc::cipher::{BlockEncryptMut as _, KeyIvInit as _, block_padding::Pkcs7};
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let iv = random_bytes(16)?;
    let cipher = Aes256CbcEnc::new(&aes_key(password).into(), iv.as_slice().into());
    let ciphertext = cipher.encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    Ok(BASE64.encode([iv, ciphertext].concat()))
}

/// `decryptAES`: the inverse of [`encrypt_aes`]. The empty text stays empty.
pub fn decrypt_aes(password: &str, encoded: &str) -> Result<String, Error> {
    use cbc::cipher::{BlockDecryptMut as _, KeyIvInit as _, block_padding::Pkcs7};
    if encoded.is_empty() {
        return Ok(String::new());
    }
    let data = BASE64
        .decode(encoded)
        .map_err(|e| Error::Decrypt(format!("not base64: {e}")))?;
    if data.len() < 32 || data.len() % 16 != 0 {
        return Err(Error::Decrypt(format!(
            "{} bytes is not an IV followed by whole AES blocks",
            data.len()
        )));
    }
    let (iv, ciphertext) = data.split_at(16);
    let cipher = Aes256CbcDec::new(&aes_key(password).into(), iv.into());
    let plain = cipher
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| Error::Decrypt("bad padding (wrong key?)".to_string()))?;
    String::from_utf8(plain).map_err(|_| Error::Decrypt("the text is not UTF-8".to_string()))
}

// ---------------------------------------------------------------------------------------------
// Keys

/// The key types of `genPrivateKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA (4096 bits from `genPrivateKey`, 2048 for certificates).
    Rsa,
    /// ECDSA on P-256.
    Ecdsa,
    /// Ed25519.
    Ed25519,
    /// DSA with L = 2048, N = 256 parameters (new parameters for every key, as sprig does).
    Dsa,
}

impl KeyType {
    /// sprig's names: `""` and `rsa`, `ecdsa`, `ed25519`, `dsa`.
    pub fn parse(name: &str) -> Result<KeyType, Error> {
        match name {
            "" | "rsa" => Ok(KeyType::Rsa),
            "ecdsa" => Ok(KeyType::Ecdsa),
            "ed25519" => Ok(KeyType::Ed25519),
            "dsa" => Ok(KeyType::Dsa),
            other => Err(Error::UnknownKeyType(other.to_string())),
        }
    }
}

/// A private key of a type sprig's functions use.
#[derive(Clone)]
pub enum PrivateKey {
    /// RSA.
    Rsa(Box<rsa::RsaPrivateKey>),
    /// ECDSA P-256.
    EcdsaP256(p256::SecretKey),
    /// Ed25519, by its 32-byte seed.
    Ed25519([u8; 32]),
    /// DSA.
    Dsa(Box<dsa::SigningKey>),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey::Rsa(..)",
            PrivateKey::EcdsaP256(_) => "PrivateKey::EcdsaP256(..)",
            PrivateKey::Ed25519(_) => "PrivateKey::Ed25519(..)",
            PrivateKey::Dsa(_) => "PrivateKey::Dsa(..)",
        })
    }
}

/// The PKCS#8 v1 prefix of an Ed25519 key (RFC 8410): version 0, algorithm id-Ed25519, then
/// the seed as an OCTET STRING inside the privateKey OCTET STRING.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A PEM block as Go's `pem.Encode` writes it: 64-column base64 lines, LF endings.
fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block of `text`: its label and decoded bytes.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest[body_start..].find(&end_marker)? + body_start;
    let body: String = rest[body_start..body_end]
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = BASE64.decode(body).ok()?;
    Some((label, der))
}

impl PrivateKey {
    /// A new key; `rsa_bits` sizes an RSA key.
    pub fn generate(kind: KeyType, rsa_bits: usize) -> Result<PrivateKey, Error> {
        match kind {
            KeyType::Rsa => {
                let key =
                    rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, rsa_bits).map_err(|e| {
                        Error::KeyGeneration {
                            kind: "rsa",
                            reason: e.to_string(),
                        }
                    })?;
                Ok(PrivateKey::Rsa(Box::new(key)))
            }
            KeyType::Ecdsa => Ok(PrivateKey::EcdsaP256(p256::SecretKey::random(
                &mut p256::elliptic_curve::rand_core::OsRng,
            ))),
            KeyType::Ed25519 => {
                let seed: [u8; 32] = random_bytes(32)?
                    .try_into()
                    .map_err(|_| Error::Random("short read".to_string()))?;
                Ok(PrivateKey::Ed25519(seed))
            }
            KeyType::Dsa => {
                let mut rng = rsa::rand_core::OsRng;
                let components = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
                Ok(PrivateKey::Dsa(Box::new(dsa::SigningKey::generate(
                    &mut rng, components,
                ))))
            }
        }
    }

    /// Parses the PEM forms sprig reads (`parsePrivateKeyPEM`): `RSA PRIVATE KEY` (PKCS#1),
    /// `EC PRIVATE KEY` (SEC1) and `PRIVATE KEY` (PKCS#8 holding RSA, P-256 or Ed25519).
    pub fn from_pem(text: &str) -> Result<PrivateKey, Error> {
        let bad = |what: &str, e: &dyn std::fmt::Display| Error::PrivateKey(format!("{what}: {e}"));
        let (label, der) =
            pem_decode(text).ok_or_else(|| Error::PrivateKey("no PEM data in input".into()))?;
        match label.as_str() {
            "PRIVATE KEY" => {
                if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
                    return Ok(PrivateKey::Rsa(Box::new(key)));
                }
                if let Ok(key) = p256::SecretKey::from_pkcs8_der(&der) {
                    return Ok(PrivateKey::EcdsaP256(key));
                }
                match ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_der(&der) {
                    Ok(key) => {
                        let key: ed25519_dalek::SigningKey = key;
                        Ok(PrivateKey::Ed25519(key.to_bytes()))
                    }
                    Err(e) => Err(bad("decoding PEM as PKCS#8 (RSA, P-256 or Ed25519)", &e)),
                }
            }
            "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| bad("parsing RSA private key from PEM", &e)),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(PrivateKey::EcdsaP256)
                .map_err(|e| bad("parsing EC private key from PEM (P-256 only)", &e)),
            "DSA PRIVATE KEY" => dsa_from_der(&der)
                .map(|k| PrivateKey::Dsa(Box::new(k)))
                .map_err(|e| bad("parsing DSA private key from PEM", &e)),
            other if other.ends_with(" PRIVATE KEY") => Err(Error::PrivateKey(format!(
                "invalid private key type {other}"
            ))),
            other => Err(Error::PrivateKey(format!(
                "no private key data in PEM block of type {other}"
            ))),
        }
    }

    /// The key as sprig writes it (see the module documentation).
    pub fn to_pem(&self) -> Result<String, Error> {
        let fail = |kind: &'static str, e: &dyn std::fmt::Display| Error::KeyGeneration {
            kind,
            reason: e.to_string(),
        };
        Ok(match self {
            PrivateKey::Rsa(key) => key
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| fail("rsa", &e))?
                .to_string(),
            PrivateKey::EcdsaP256(key) => key
                .to_sec1_pem(LineEnding::LF)
                .map_err(|e| fail("ecdsa", &e))?
                .to_string(),
            PrivateKey::Ed25519(seed) => pem_block("PRIVATE KEY", &ed25519_pkcs8(seed)),
            PrivateKey::Dsa(key) => pem_block("DSA PRIVATE KEY", &dsa_to_der(key)),
        })
    }

    fn to_pkcs8_der(&self) -> Result<Vec<u8>, Error> {
        let fail = |kind: &'static str, e: &dyn std::fmt::Display| Error::KeyGeneration {
            kind,
            reason: e.to_string(),
        };
        Ok(match self {
            PrivateKey::Rsa(key) => key
                .to_pkcs8_der()
                .map_err(|e| fail("rsa", &e))?
                .as_bytes()
                .to_vec(),
            PrivateKey::EcdsaP256(key) => key
                .to_pkcs8_der()
                .map_err(|e| fail("ecdsa", &e))?
                .as_bytes()
                .to_vec(),
            PrivateKey::Ed25519(seed) => ed25519_pkcs8(seed),
            PrivateKey::Dsa(_) => return Err(dsa_cannot_sign()),
        })
    }

    fn signing_key(&self) -> Result<rcgen::KeyPair, Error> {
        let alg = match self {
            PrivateKey::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
            PrivateKey::EcdsaP256(_) => &rcgen::PKCS_ECDSA_P256_SHA256,
            PrivateKey::Ed25519(_) => &rcgen::PKCS_ED25519,
            PrivateKey::Dsa(_) => return Err(dsa_cannot_sign()),
        };
        let der = self.to_pkcs8_der()?;
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), alg)
            .map_err(|e| Error::Signing(format!("unusable signing key: {e}")))
    }
}

/// Go's `x509.CreateCertificate` with a DSA signing key: `*dsa.PrivateKey` is no
/// `crypto.Signer`.
fn dsa_cannot_sign() -> Error {
    Error::Signing("x509: certificate private key does not implement crypto.Signer".into())
}

/// DER of a non-negative INTEGER from its big-endian magnitude.
fn der_uint(magnitude: &[u8], out: &mut Vec<u8>) {
    let trimmed = match magnitude.iter().position(|b| *b != 0) {
        Some(i) => &magnitude[i..],
        None => &[0u8][..],
    };
    let pad = trimmed[0] & 0x80 != 0;
    out.push(0x02);
    der_len(trimmed.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let first = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
}

/// sprig's `DSAKeyFormat` as Go's `asn1.Marshal` writes it: SEQUENCE { version 0, P, Q, G, Y,
/// X }.
fn dsa_to_der(key: &dsa::SigningKey) -> Vec<u8> {
    let public = key.verifying_key();
    let c = public.components();
    let mut body = Vec::new();
    der_uint(&[0], &mut body);
    for n in [c.p(), c.q(), c.g(), public.y(), key.x()] {
        der_uint(&n.to_bytes_be(), &mut body);
    }
    let mut out = vec![0x30];
    der_len(body.len(), &mut out);
    out.extend(body);
    out
}

/// Parses sprig's `DSAKeyFormat` (see [`dsa_to_der`]) with the DER reader x509-parser
/// carries.
fn dsa_from_der(der: &[u8]) -> Result<dsa::SigningKey, String> {
    use x509_parser::der_parser::{ber::BerObjectContent, parse_der};
    let (rest, seq) = parse_der(der).map_err(|e| format!("asn1: {e}"))?;
    if !rest.is_empty() {
        return Err("asn1: syntax error: trailing data".into());
    }
    let items = seq.as_sequence().map_err(|e| format!("asn1: {e}"))?;
    let ints = items
        .iter()
        .map(|item| match &item.content {
            BerObjectContent::Integer(bytes) if bytes.first().is_none_or(|b| b & 0x80 == 0) => {
                Ok(dsa::BigUint::from_bytes_be(bytes))
            }
            _ => Err("asn1: structure error: want a non-negative INTEGER".to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let [_version, p, q, g, y, x]: [dsa::BigUint; 6] = ints
        .try_into()
        .map_err(|v: Vec<_>| format!("asn1: structure error: {} integers, want 6", v.len()))?;
    let invalid = |_| "not a valid DSA key".to_string();
    let components = dsa::Components::from_components(p, q, g).map_err(invalid)?;
    let public = dsa::VerifyingKey::from_components(components, y).map_err(invalid)?;
    dsa::SigningKey::from_components(public, x).map_err(invalid)
}

fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    [&ED25519_PKCS8_PREFIX[..], &seed[..]].concat()
}

/// `genPrivateKey`: a new key of sprig's type name, as PEM.
pub fn gen_private_key(kind: &str) -> Result<String, Error> {
    let kind = KeyType::parse(kind)?;
    PrivateKey::generate(kind, 4096)?.to_pem()
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// What sprig's certificate functions return: `.Cert` and `.Key`, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate (`CERTIFICATE` block).
    pub cert: String,
    /// Its private key, written as [`PrivateKey::to_pem`] writes it.
    pub key: String,
}

impl Certificate {
    /// The template value: a map with `Cert` and `Key`, so `.Cert` and `.Key` work.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("Cert".into(), Value::String(self.cert.clone()));
        map.insert("Key".into(), Value::String(self.key.clone()));
        Value::Object(map)
    }
}

/// The subject and validity of a certificate to make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertRequest {
    /// The common name (the whole subject).
    pub common_name: String,
    /// IP SANs.
    pub ips: Vec<IpAddr>,
    /// DNS SANs.
    pub dns_names: Vec<String>,
    /// Days of validity from now.
    pub days_valid: i64,
}

fn base_params(req: &CertRequest) -> Result<rcgen::CertificateParams, Error> {
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, req.common_name.as_str());
    params.distinguished_name = name;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now
        .checked_add(time::Duration::hours(24 * req.days_valid))
        .ok_or_else(|| Error::Signing(format!("{} days is out of range", req.days_valid)))?;
    let mut serial = random_bytes(16)?;
    // A 128-bit serial below 2^128, as Go draws it; rcgen writes it as a positive INTEGER.
    while serial.first() == Some(&0) && serial.len() > 1 {
        serial.remove(0);
    }
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.subject_alt_names = req
        .dns_names
        .iter()
        .map(|d| {
            Ok(rcgen::SanType::DnsName(d.as_str().try_into().map_err(
                |e| Error::Signing(format!("DNS name {d:?}: {e}")),
            )?))
        })
        .chain(req.ips.iter().map(|ip| Ok(rcgen::SanType::IpAddress(*ip))))
        .collect::<Result<_, Error>>()?;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    Ok(params)
}

fn finish(cert: rcgen::Certificate, key: &PrivateKey) -> Result<Certificate, Error> {
    Ok(Certificate {
        cert: pem_block("CERTIFICATE", cert.der()),
        key: key.to_pem()?,
    })
}

fn rsa_2048_or(key: Option<PrivateKey>) -> Result<PrivateKey, Error> {
    match key {
        Some(key) => Ok(key),
        None => PrivateKey::generate(KeyType::Rsa, 2048),
    }
}

/// `genCA` (no key: a new RSA 2048 key) and `genCAWithKey`.
pub fn gen_ca(
    common_name: &str,
    days_valid: i64,
    key: Option<PrivateKey>,
) -> Result<Certificate, Error> {
    let key = rsa_2048_or(key)?;
    let signer = key.signing_key()?;
    let mut params = base_params(&CertRequest {
        common_name: common_name.to_string(),
        days_valid,
        ..CertRequest::default()
    })?;
    params.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // Go's subject key identifier: SHA-1 of the subjectPublicKey bits.
    params.key_identifier_method =
        rcgen::KeyIdMethod::PreSpecified(sha1::Sha1::digest(signer.public_key_raw()).to_vec());
    let cert = params
        .self_signed(&signer)
        .map_err(|e| Error::Signing(e.to_string()))?;
    finish(cert, &key)
}

/// `genSelfSignedCert` (no key: a new RSA 2048 key) and `genSelfSignedCertWithKey`.
pub fn gen_self_signed_cert(
    req: &CertRequest,
    key: Option<PrivateKey>,
) -> Result<Certificate, Error> {
    let key = rsa_2048_or(key)?;
    let signer = key.signing_key()?;
    let cert = base_params(req)?
        .self_signed(&signer)
        .map_err(|e| Error::Signing(e.to_string()))?;
    finish(cert, &key)
}

/// `genSignedCert` (no key: a new RSA 2048 key) and `genSignedCertWithKey`: a certificate
/// signed by `ca` (as `genCA` returns it, or any CA certificate and key in PEM).
pub fn gen_signed_cert(
    req: &CertRequest,
    ca: &Certificate,
    key: Option<PrivateKey>,
) -> Result<Certificate, Error> {
    pem_decode(&ca.cert)
        .filter(|(label, _)| label == "CERTIFICATE")
        .ok_or_else(|| Error::Certificate("unable to decode certificate".to_string()))?;
    let ca_key = PrivateKey::from_pem(&ca.key)
        .map_err(|e| Error::Certificate(format!("error parsing private key: {e}")))?;
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca.cert, ca_key.signing_key()?)
        .map_err(|e| Error::Certificate(format!("error parsing certificate: {e}")))?;
    let key = rsa_2048_or(key)?;
    // Go checks the CA's key first (above); a DSA key to certify fails next, when its public
    // key is marshalled.
    if matches!(key, PrivateKey::Dsa(_)) {
        return Err(Error::Signing(
            "x509: unsupported public key type: *dsa.PublicKey".into(),
        ));
    }
    let signer = key.signing_key()?;
    let mut params = base_params(req)?;
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&signer, &issuer)
        .map_err(|e| Error::Signing(e.to_string()))?;
    finish(cert, &key)
}

/// `buildCustomCert`: a certificate object from base64 of a certificate PEM and of a key PEM,
/// both checked.
pub fn build_custom_cert(b64_cert: &str, b64_key: &str) -> Result<Certificate, Error> {
    let cert = BASE64
        .decode(b64_cert)
        .map_err(|_| Error::Certificate("unable to decode base64 certificate".into()))?;
    let key = BASE64
        .decode(b64_key)
        .map_err(|_| Error::Certificate("unable to decode base64 private key".into()))?;
    let cert = String::from_utf8(cert)
        .map_err(|_| Error::Certificate("unable to decode certificate".into()))?;
    let key = String::from_utf8(key)
        .map_err(|_| Error::Certificate("unable to decode base64 private key".into()))?;
    let (_, der) = pem_decode(&cert)
        .ok_or_else(|| Error::Certificate("unable to decode certificate".into()))?;
    x509_check(&der)?;
    PrivateKey::from_pem(&key)
        .map_err(|e| Error::Certificate(format!("error parsing private key: {e}")))?;
    Ok(Certificate { cert, key })
}

/// Refuses a block that is not an X.509 certificate, as Go's `x509.ParseCertificate` would.
fn x509_check(der: &[u8]) -> Result<(), Error> {
    x509_parser::parse_x509_certificate(der)
        .map(|_| ())
        .map_err(|e| Error::Certificate(format!("error parsing certificate: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Template functions

type R = Result<Value, String>;

/// The Go type an argument had (for error messages), from its JSON form.
fn go_type(v: &Value) -> String {
    GoValue::from_json(v, Numbers::Typed).type_name()
}

fn want(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

/// An `int` argument: Go converts untyped constants and integer values, not strings.
fn int_arg(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| format!("wrong type for value; expected int; got {}", go_type(v))),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            go_type(other)
        )),
    }
}

fn str_arg(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            go_type(other)
        )),
    }
}

/// A `[]interface{}` argument whose items must be strings: `nil` is the empty list.
fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{what}: {} is not a string",
                    fleet_gotemplate::value::print(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "wrong type for value; expected []interface {{}}; got {}",
            go_type(other)
        )),
    }
}

fn cert_request(name: &str, args: &[Value]) -> Result<CertRequest, String> {
    let common_name = str_arg(&args[0])?.to_string();
    let ips = string_list(&args[1], &format!("error calling {name}: error parsing ip"))?
        .into_iter()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| failed(name, &Error::Ip(ip.clone())))
        })
        .collect::<Result<_, _>>()?;
    let dns_names = string_list(
        &args[2],
        &format!("error calling {name}: error processing alternate dns name"),
    )?;
    let days_valid = int_arg(&args[3]).map_err(|e| format!("{name}: {e}"))?;
    Ok(CertRequest {
        common_name,
        ips,
        dns_names,
        days_valid,
    })
}

fn ca_arg(v: &Value) -> Result<Certificate, String> {
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected sprig.certificate; got {}",
                    go_type(v)
                )
            })
    };
    Ok(Certificate {
        cert: field("Cert")?,
        key: field("Key")?,
    })
}

fn key_arg(name: &str, v: &Value) -> Result<PrivateKey, String> {
    PrivateKey::from_pem(str_arg(v)?).map_err(|e| failed(name, &e))
}

fn count_arg(v: &Value) -> Result<usize, String> {
    // goutils refuses a negative count with an error that sprig drops: the result is "".
    Ok(usize::try_from(int_arg(v)?).unwrap_or(0))
}

/// A function's own failure, in Go's `error calling <name>: <reason>` shape.
fn failed(name: &str, e: &Error) -> String {
    format!("error calling {name}: {e}")
}

fn text(name: &str, r: Result<String, Error>) -> R {
    r.map(Value::String).map_err(|e| failed(name, &e))
}

fn cert(name: &str, r: Result<Certificate, Error>) -> R {
    r.map(|c| c.to_value()).map_err(|e| failed(name, &e))
}

type RandomFn = fn(usize) -> Result<String, Error>;

/// Registers a function written over JSON values: the arguments are converted from the
/// template's values and the result back (certificates are maps with `Cert` and `Key`).
fn json_insert(funcs: &mut Funcs, name: &str, f: impl Fn(&[Value]) -> R + Send + Sync + 'static) {
    funcs.insert(name, move |_, args| {
        let json: Vec<Value> = args.iter().map(GoValue::to_json).collect();
        f(&json)
            .map(|v| GoValue::from_json(&v, Numbers::Typed))
            .map_err(CallError::from)
    });
}

/// Adds the functions of this module to a template function set.
pub fn register(funcs: &mut Funcs) {
    let random: [(&str, RandomFn); 5] = [
        ("randAlphaNum", rand_alpha_num),
        ("randAlpha", rand_alpha),
        ("randNumeric", rand_numeric),
        ("randAscii", rand_ascii),
        ("randBytes", rand_bytes),
    ];
    for (name, f) in random {
        json_insert(funcs, name, move |args| {
            want(name, args, 1)?;
            text(name, f(count_arg(&args[0])?))
        });
    }
    json_insert(funcs, "uuidv4", |args| {
        want("uuidv4", args, 0)?;
        text("uuidv4", uuid_v4())
    });
    json_insert(funcs, "sha512sum", |args| {
        want("sha512sum", args, 1)?;
        Ok(Value::String(sha512sum(str_arg(&args[0])?)))
    });
    json_insert(funcs, "adler32sum", |args| {
        want("adler32sum", args, 1)?;
        Ok(Value::String(adler32sum(str_arg(&args[0])?)))
    });
    json_insert(funcs, "bcrypt", |args| {
        want("bcrypt", args, 1)?;
        text("bcrypt", bcrypt_hash(str_arg(&args[0])?))
    });
    json_insert(funcs, "htpasswd", |args| {
        want("htpasswd", args, 2)?;
        text("htpasswd", htpasswd(str_arg(&args[0])?, str_arg(&args[1])?))
    });
    json_insert(funcs, "derivePassword", |args| {
        want("derivePassword", args, 5)?;
        let counter = u32::try_from(int_arg(&args[0])?)
            .map_err(|_| "derivePassword: the counter must fit in uint32".to_string())?;
        let strings = args[1..]
            .iter()
            .map(str_arg)
            .collect::<Result<Vec<_>, _>>()?;
        // sprig returns an unknown template's message as the text, not as an error.
        match derive_password(counter, strings[0], strings[1], strings[2], strings[3]) {
            Err(e @ Error::PasswordTemplate(_)) => Ok(Value::String(e.to_string())),
            other => text("derivePassword", other),
        }
    });
    json_insert(funcs, "encryptAES", |args| {
        want("encryptAES", args, 2)?;
        text(
            "encryptAES",
            encrypt_aes(str_arg(&args[0])?, str_arg(&args[1])?),
        )
    });
    json_insert(funcs, "decryptAES", |args| {
        want("decryptAES", args, 2)?;
        text(
            "decryptAES",
            decrypt_aes(str_arg(&args[0])?, str_arg(&args[1])?),
        )
    });
    json_insert(funcs, "genPrivateKey", |args| {
        want("genPrivateKey", args, 1)?;
        // sprig answers an unknown type with the text "Unknown type <t>"; dsa is an error here.
        match gen_private_key(str_arg(&args[0])?) {
            Err(Error::UnknownKeyType(t)) => Ok(Value::String(format!("Unknown type {t}"))),
            other => text("genPrivateKey", other),
        }
    });
    json_insert(funcs, "genCA", |args| {
        want("genCA", args, 2)?;
        cert(
            "genCA",
            gen_ca(str_arg(&args[0])?, int_arg(&args[1])?, None),
        )
    });
    json_insert(funcs, "genCAWithKey", |args| {
        want("genCAWithKey", args, 3)?;
        let key = key_arg("genCAWithKey", &args[2])?;
        cert(
            "genCAWithKey",
            gen_ca(str_arg(&args[0])?, int_arg(&args[1])?, Some(key)),
        )
    });
    json_insert(funcs, "genSelfSignedCert", |args| {
        want("genSelfSignedCert", args, 4)?;
        cert(
            "genSelfSignedCert",
            gen_self_signed_cert(&cert_request("genSelfSignedCert", args)?, None),
        )
    });
    json_insert(funcs, "genSelfSignedCertWithKey", |args| {
        want("genSelfSignedCertWithKey", args, 5)?;
        let key = key_arg("genSelfSignedCertWithKey", &args[4])?;
        cert(
            "genSelfSignedCertWithKey",
            gen_self_signed_cert(&cert_request("genSelfSignedCertWithKey", args)?, Some(key)),
        )
    });
    json_insert(funcs, "genSignedCert", |args| {
        want("genSignedCert", args, 5)?;
        let ca = ca_arg(&args[4])?;
        cert(
            "genSignedCert",
            gen_signed_cert(&cert_request("genSignedCert", args)?, &ca, None),
        )
    });
    json_insert(funcs, "genSignedCertWithKey", |args| {
        want("genSignedCertWithKey", args, 6)?;
        let ca = ca_arg(&args[4])?;
        let key = key_arg("genSignedCertWithKey", &args[5])?;
        cert(
            "genSignedCertWithKey",
            gen_signed_cert(&cert_request("genSignedCertWithKey", args)?, &ca, Some(key)),
        )
    });
    json_insert(funcs, "buildCustomCert", |args| {
        want("buildCustomCert", args, 2)?;
        cert(
            "buildCustomCert",
            build_custom_cert(str_arg(&args[0])?, str_arg(&args[1])?),
        )
    });
}
