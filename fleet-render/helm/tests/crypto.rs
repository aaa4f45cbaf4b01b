//! sprig's random and crypto functions: through the Rust API and through chart templates.

use std::net::IpAddr;

use fleet_helm::crypto::{self, CertRequest, Certificate, KeyType, PrivateKey};
use fleet_helm::render::{self, Release};
use fleet_helm::{chart, coalesce};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer as _, X509Certificate};

fn der_of(pem: &str) -> Vec<u8> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM");
    assert_eq!(block.label, "CERTIFICATE");
    block.contents
}

fn subject_key_id<'a>(cert: &'a X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
}

fn authority_key_id<'a>(cert: &'a X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        })
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn validity_days(cert: &X509Certificate<'_>) -> i64 {
    let v = cert.validity();
    (v.not_after.timestamp() - v.not_before.timestamp()) / 86_400
}

fn sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(bytes) => ips.push(match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()),
                }),
                _ => {}
            }
        }
    }
    (dns, ips)
}

#[test]
fn random_strings_have_the_length_and_alphabet_asked_for() {
    type Case = (fn(usize) -> Result<String, crypto::Error>, fn(char) -> bool);
    let cases: [Case; 4] = [
        (crypto::rand_alpha_num, |c| c.is_ascii_alphanumeric()),
        (crypto::rand_alpha, |c| c.is_ascii_alphabetic()),
        (crypto::rand_numeric, |c| c.is_ascii_digit()),
        (crypto::rand_ascii, |c| (' '..='~').contains(&c)),
    ];
    for (f, allowed) in cases {
        for n in [0, 1, 7, 64, 500] {
            let s = f(n).unwrap();
            assert_eq!(s.len(), n);
            assert!(s.chars().all(allowed), "{s:?}");
        }
        // Two long draws are never equal (a constant generator would fail here).
        assert_ne!(f(40).unwrap(), f(40).unwrap());
    }
    // Over many draws every digit shows up: the alphabet is used whole.
    let digits = crypto::rand_numeric(2000).unwrap();
    for d in '0'..='9' {
        assert!(digits.contains(d), "digit {d} never drawn");
    }
    let bytes = crypto::rand_bytes(33).unwrap();
    assert_eq!(bytes.len(), 44, "33 bytes are 44 base64 characters");
    let uuid = crypto::uuid_v4().unwrap();
    let parts: Vec<&str> = uuid.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'), "version 4: {uuid}");
    assert!("89ab".contains(&parts[3][..1]), "RFC 4122 variant: {uuid}");
    assert_ne!(uuid, crypto::uuid_v4().unwrap());
}

#[test]
fn hashes_and_derived_passwords_match_sprig() {
    // Vectors of sprig's crypto_test.go.
    assert_eq!(
        crypto::sha512sum("abc"),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(crypto::adler32sum("abc"), "38600999");
    for (counter, kind, want) in [
        (1, "long", "ZedaFaxcZaso9*"),
        (2, "long", "Fovi2@JifpTupx"),
        (1, "maximum", "pf4zS1LjCg&LjhsZ7T2~"),
        (1, "medium", "ZedJuz8$"),
        (1, "basic", "pIS54PLs"),
        (1, "short", "Zed5"),
        (1, "pin", "6685"),
    ] {
        let got =
            crypto::derive_password(counter, kind, "password", "user", "example.com").unwrap();
        assert_eq!(got, want, "{kind} {counter}");
    }
    assert!(matches!(
        crypto::derive_password(1, "nope", "p", "u", "s"),
        Err(crypto::Error::PasswordTemplate(_))
    ));
}

#[test]
fn bcrypt_htpasswd_and_aes() {
    let hash = crypto::bcrypt_hash("abc").unwrap();
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert!(bcrypt::verify("abc", &hash).unwrap());
    assert!(!bcrypt::verify("abd", &hash).unwrap());
    let line = crypto::htpasswd("admin", "s3cret").unwrap();
    let (user, hash) = line.split_once(':').unwrap();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("s3cret", hash).unwrap());
    assert_eq!(
        crypto::htpasswd("ad:min", "x").unwrap(),
        "invalid username: ad:min"
    );

    let sealed = crypto::encrypt_aes("secretkey", "plaintext").unwrap();
    assert_ne!(
        sealed,
        crypto::encrypt_aes("secretkey", "plaintext").unwrap()
    );
    assert_eq!(
        crypto::decrypt_aes("secretkey", &sealed).unwrap(),
        "plaintext"
    );
    assert!(
        crypto::decrypt_aes("otherkey", &sealed).is_err() || {
            // A wrong key can by chance leave valid padding; the text is still not the original.
            crypto::decrypt_aes("otherkey", &sealed).unwrap() != "plaintext"
        }
    );
    assert!(matches!(
        crypto::decrypt_aes("k", "not base64!"),
        Err(crypto::Error::Decrypt(_))
    ));
    assert_eq!(crypto::encrypt_aes("k", "").unwrap(), "");
    assert_eq!(crypto::decrypt_aes("k", "").unwrap(), "");
}

#[test]
fn private_keys_use_sprig_pem_types_and_round_trip() {
    let ec = crypto::gen_private_key("ecdsa").unwrap();
    assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"), "{ec}");
    let ed = crypto::gen_private_key("ed25519").unwrap();
    assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{ed}");
    for pem in [&ec, &ed] {
        assert_eq!(&PrivateKey::from_pem(pem).unwrap().to_pem().unwrap(), pem);
    }
    let rsa = PrivateKey::generate(KeyType::Rsa, 2048).unwrap();
    let rsa_pem = rsa.to_pem().unwrap();
    assert!(rsa_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(rsa_pem.lines().all(|l| l.len() <= 64));
    assert_eq!(
        PrivateKey::from_pem(&rsa_pem).unwrap().to_pem().unwrap(),
        rsa_pem
    );

    assert!(matches!(
        crypto::gen_private_key("rsa3"),
        Err(crypto::Error::UnknownKeyType(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem("no pem here"),
        Err(crypto::Error::PrivateKey(_))
    ));
    assert!(
        PrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
}

#[test]
fn ca_and_signed_certificate_follow_sprig_and_verify() {
    let ca = crypto::gen_ca("fleet-ca", 3650, None).unwrap();
    assert!(ca.key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let ca_der = der_of(&ca.cert);
    let (_, ca_x509) = X509Certificate::from_der(&ca_der).unwrap();
    assert_eq!(common_name(&ca_x509), "fleet-ca");
    assert!(ca_x509.is_ca());
    assert_eq!(validity_days(&ca_x509), 3650);
    let usage = ca_x509.key_usage().unwrap().unwrap().value;
    assert!(usage.key_cert_sign() && usage.digital_signature() && usage.key_encipherment());
    let eku = ca_x509.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    ca_x509
        .verify_signature(None)
        .expect("self-signed CA verifies");
    let ski = subject_key_id(&ca_x509).expect("a CA has a subject key id");
    let spki = ca_x509.public_key().subject_public_key.data.as_ref();
    assert_eq!(
        ski,
        <sha1::Sha1 as sha1::Digest>::digest(spki).as_slice(),
        "Go's SHA-1 key id"
    );
    // 2048-bit RSA.
    assert_eq!(
        PrivateKey::from_pem(&ca.key)
            .map(|k| format!("{k:?}"))
            .unwrap(),
        "PrivateKey::Rsa(..)"
    );
    let modulus_bits = match ca_x509.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => rsa.key_size(),
        _ => 0,
    };
    assert_eq!(modulus_bits, 2048);

    let req = CertRequest {
        common_name: "web.apps.svc".into(),
        ips: vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        dns_names: vec!["web".into(), "web.apps.svc".into()],
        days_valid: 30,
    };
    let leaf = crypto::gen_signed_cert(&req, &ca, None).unwrap();
    let leaf_der = der_of(&leaf.cert);
    let (_, leaf_x509) = X509Certificate::from_der(&leaf_der).unwrap();
    assert_eq!(common_name(&leaf_x509), "web.apps.svc");
    assert_eq!(leaf_x509.issuer(), ca_x509.subject());
    assert!(!leaf_x509.is_ca());
    assert_eq!(validity_days(&leaf_x509), 30);
    let (dns, ips) = sans(&leaf_x509);
    assert_eq!(dns, req.dns_names);
    assert_eq!(ips, req.ips);
    leaf_x509
        .verify_signature(Some(ca_x509.public_key()))
        .expect("signed by the CA");
    assert_eq!(authority_key_id(&leaf_x509), Some(ski));
    // Another CA's key does not verify it.
    let other = crypto::gen_ca("other", 1, None).unwrap();
    let other_der = der_of(&other.cert);
    let (_, other_x509) = X509Certificate::from_der(&other_der).unwrap();
    assert!(
        leaf_x509
            .verify_signature(Some(other_x509.public_key()))
            .is_err()
    );
    // Serials are random.
    assert_ne!(ca_x509.raw_serial(), other_x509.raw_serial());
}

#[test]
fn certificates_with_given_keys_of_each_type() {
    for kind in [KeyType::Ecdsa, KeyType::Ed25519] {
        let key = PrivateKey::generate(kind, 2048).unwrap();
        let key_pem = key.to_pem().unwrap();
        let req = CertRequest {
            common_name: "self".into(),
            dns_names: vec!["self.example".into()],
            days_valid: 7,
            ..CertRequest::default()
        };
        let cert = crypto::gen_self_signed_cert(&req, Some(key.clone())).unwrap();
        assert_eq!(cert.key, key_pem, "{kind:?}: the given key is returned");
        let der = der_of(&cert.cert);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        x509.verify_signature(None).expect("self-signed verifies");
        assert_eq!(validity_days(&x509), 7);
        assert!(!x509.is_ca());

        let ca = crypto::gen_ca("ca", 10, Some(key.clone())).unwrap();
        let leaf = crypto::gen_signed_cert(&req, &ca, Some(key)).unwrap();
        let ca_der = der_of(&ca.cert);
        let (_, ca_x509) = X509Certificate::from_der(&ca_der).unwrap();
        let leaf_der = der_of(&leaf.cert);
        let (_, leaf_x509) = X509Certificate::from_der(&leaf_der).unwrap();
        leaf_x509
            .verify_signature(Some(ca_x509.public_key()))
            .expect("signed by the CA");
    }
    let bad_ca = Certificate {
        cert: "garbage".into(),
        key: "garbage".into(),
    };
    assert!(matches!(
        crypto::gen_signed_cert(&CertRequest::default(), &bad_ca, None),
        Err(crypto::Error::Certificate(_))
    ));
}

fn render_chart(template: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: tls\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/secret.yaml"), template).unwrap();
    let chart = chart::load(dir.path()).map_err(|e| e.to_string())?;
    let values = coalesce::coalesce_values(&chart, &serde_json::json!({}));
    let release = Release {
        name: "r".into(),
        namespace: "ns".into(),
        revision: 1,
        is_install: true,
        kube_version: "v1.31.0".into(),
        api_versions: Vec::new(),
    };
    let out = render::render(&chart, &values, &release).map_err(|e| e.to_string())?;
    Ok(out["tls/templates/secret.yaml"].clone())
}

#[test]
fn chart_templates_call_the_functions() {
    let text = render_chart(concat!(
        r#"{{- $ca := genCA "my-ca" 365 -}}"#,
        r#"{{- $cert := genSignedCert "svc" (list "10.1.2.3") (list "svc.ns") 90 $ca -}}"#,
        "ca: {{ $ca.Cert | b64enc }}\n",
        "crt: {{ $cert.Cert | b64enc }}\n",
        "key: {{ $cert.Key | b64enc }}\n",
        "pw: {{ randAlphaNum 16 }}\n",
        "id: {{ uuidv4 }}\n",
        "n: {{ randNumeric 5 }}\n",
        "h: {{ htpasswd \"u\" \"p\" }}\n",
        "d: {{ derivePassword 1 \"pin\" \"password\" \"user\" \"example.com\" }}\n",
        "s: {{ \"abc\" | adler32sum }}\n",
        "a: {{ \"plaintext\" | encryptAES \"k\" | decryptAES \"k\" }}\n",
    ))
    .unwrap();
    let doc: serde_json::Value = fleet_helm::values::parse(&text, "out").unwrap();
    let decode = |k: &str| {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(doc[k].as_str().unwrap())
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    let ca_der = der_of(&decode("ca"));
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    let crt_der = der_of(&decode("crt"));
    let (_, crt) = X509Certificate::from_der(&crt_der).unwrap();
    crt.verify_signature(Some(ca.public_key())).unwrap();
    assert_eq!(sans(&crt).1, vec!["10.1.2.3".parse::<IpAddr>().unwrap()]);
    assert!(decode("key").starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let pw = doc["pw"].as_str().unwrap();
    assert_eq!(pw.len(), 16);
    assert_eq!(doc["id"].as_str().unwrap().len(), 36);
    assert_eq!(doc["d"], 6685);
    assert_eq!(doc["s"], 38600999);
    assert_eq!(doc["a"], "plaintext");
    assert!(doc["h"].as_str().unwrap().starts_with("u:$2a$10$"));
}

#[test]
fn template_errors_name_the_function() {
    let err = render_chart(r#"{{ genSelfSignedCert "x" (list "not-an-ip") nil 1 }}"#).unwrap_err();
    assert!(
        err.contains("error calling genSelfSignedCert: error parsing ip: not-an-ip"),
        "{err}"
    );
    let err = render_chart(
        r#"{{ (genSelfSignedCertWithKey "x" nil nil 1 (genPrivateKey "dsa")).Cert }}"#,
    )
    .unwrap_err();
    assert!(
        err.contains(
            "error calling genSelfSignedCertWithKey: error creating certificate: \
             x509: certificate private key does not implement crypto.Signer"
        ),
        "{err}"
    );
    let err = render_chart(r#"{{ randAlpha "x" }}"#).unwrap_err();
    assert!(err.contains("expected int"), "{err}");
    // sprig returns this message as text, not as an error.
    assert_eq!(
        render_chart(r#"{{ genPrivateKey "rsa3" }}"#).unwrap(),
        "Unknown type rsa3"
    );
}

/// `genPrivateKey "dsa"` writes sprig's `DSAKeyFormat`: version 0 then P, Q, G, Y, X, with
/// L = 2048 and N = 256 parameters, and the key reads back as itself. Go's X.509 code signs
/// with no DSA key and certifies none.
#[test]
fn dsa_keys_follow_sprig_and_certificates_refuse_them() {
    let pem = crypto::gen_private_key("dsa").unwrap();
    assert!(
        pem.starts_with("-----BEGIN DSA PRIVATE KEY-----\n"),
        "{pem}"
    );
    assert!(pem.lines().all(|l| l.len() <= 64));
    let key = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(key.to_pem().unwrap(), pem);
    // The DER, read with an independent parser: six INTEGERs, sizes as L2048N256 makes them.
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap();
    let (rest, seq) = x509_parser::der_parser::parse_der(&der).unwrap();
    assert!(rest.is_empty());
    let items = seq.as_sequence().unwrap();
    assert_eq!(items.len(), 6);
    let bits = |i: usize| {
        let bytes = items[i].as_slice().unwrap();
        let bytes = &bytes[bytes.iter().position(|b| *b != 0).unwrap()..];
        bytes.len() * 8 - bytes[0].leading_zeros() as usize
    };
    assert_eq!(items[0].as_u32().unwrap(), 0);
    assert_eq!(bits(1), 2048, "P");
    assert_eq!(bits(2), 256, "Q");
    assert!(bits(5) <= 256, "X below Q");

    let req = crypto::CertRequest {
        common_name: "dsa".into(),
        days_valid: 1,
        ..Default::default()
    };
    let no_signer = "error creating certificate: x509: certificate private key does not implement crypto.Signer";
    assert_eq!(
        crypto::gen_ca("dsa", 1, Some(key.clone()))
            .unwrap_err()
            .to_string(),
        no_signer
    );
    assert_eq!(
        crypto::gen_self_signed_cert(&req, Some(key.clone()))
            .unwrap_err()
            .to_string(),
        no_signer
    );
    let ca = crypto::gen_ca("ca", 1, None).unwrap();
    assert_eq!(
        crypto::gen_signed_cert(&req, &ca, Some(key))
            .unwrap_err()
            .to_string(),
        "error creating certificate: x509: unsupported public key type: *dsa.PublicKey"
    );
    let broken = pem.replacen("MII", "MIJ", 1);
    assert!(
        PrivateKey::from_pem(&broken)
            .unwrap_err()
            .to_string()
            .starts_with("parsing private key: parsing DSA private key from PEM: "),
    );
}
