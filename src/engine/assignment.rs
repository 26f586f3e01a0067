//! The generic detector's assignment grammar: which `name <op> value` matches of the generic
//! rule are not secrets, judged from the name's tokens, the operator, the value's shape and the
//! lines around it. One table, `SHAPES`, lists every rejected shape with the lines it rejects
//! and lines that look alike but are kept; `cargo test` runs both through the real engine.
//!
//! Every check looks at the candidate's own line or a bounded number of bytes around it, and
//! runs only on generic candidates (after the regex matched), never per byte of input.

use std::ops::Range;

/// A generic candidate: where its name and value sit in the scanned bytes.
pub struct Candidate<'a> {
    pub hay: &'a [u8],
    pub name: Range<usize>,
    pub value: Range<usize>,
}

impl Candidate<'_> {
    fn name(&self) -> &[u8] {
        &self.hay[self.name.clone()]
    }
    fn value(&self) -> &[u8] {
        &self.hay[self.value.clone()]
    }
    /// The bytes between the name and the value: quotes, brackets, the operator, spaces.
    fn between(&self) -> &[u8] {
        &self.hay[self.name.end.min(self.value.start)..self.value.start]
    }
    /// The line's bytes before the name.
    fn line_before_name(&self) -> &[u8] {
        let start = memchr::memrchr(b'\n', &self.hay[..self.name.start]).map_or(0, |i| i + 1);
        &self.hay[start.max(self.name.start.saturating_sub(LOOK))..self.name.start]
    }
    fn quoted(&self) -> bool {
        self.between()
            .last()
            .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`'))
    }
    /// Whether the name is the end of a quoted key (`"…/secrets":`).
    fn quoted_name(&self) -> bool {
        self.hay
            .get(self.name.end)
            .is_some_and(|b| matches!(b, b'"' | b'\''))
    }
}

/// How far (bytes) a check may look around a candidate.
const LOOK: usize = 1024;

/// One rejected shape: what it is, lines it rejects, similar lines it keeps, and its test.
pub struct Shape {
    pub id: &'static str,
    pub why: &'static str,
    /// Input the generic detector must not report (each scanned on its own).
    pub examples: &'static [&'static str],
    /// Input that looks alike and must still be reported by the generic detector.
    pub counter_examples: &'static [&'static str],
    test: fn(&Candidate) -> bool,
}

/// The shapes, in the order they are tried. Random values in counter-examples are templates
/// (`@{rand:alnum:24}`, as in rule examples) that the test expands.
pub const SHAPES: &[Shape] = &[
    Shape {
        id: "no-secret-token",
        why: "the secret word is part of another word: the name is split into tokens (case, `_`, `-`, `.`) and none is or ends with a secret word (author, authenticate, keymap, keywords)",
        examples: &[
            "WWW-Authenticate: Wild-and-crazy9",
            "Co-authored-by: Hedgehog5040 <someone@example.org>",
            "AuthnInstant=\"2015-03-25T14:43:21Z\"",
            "OPENSSL_KEYBITS=brainpoolP256r1",
            "WHERE m.maptokentype = parse.tokid9x",
            "Authorization: XXX4-HMAC-SHA256 Credential=xxx/1970",
            "$LANG['authenticate'] = 'SMTP-Fehler: Authentifizierung';",
            "ecpg_keywords.o: ecpg_kwlist_d9h",
        ],
        counter_examples: &[
            "foopassword=\"@{rand:alnum:24}\"",
            "AUTH_1=0xd4f8c2e61a9b7035f2c8e1d4a6b9c3f7",
            "oauth_authority_secret = \"@{rand:alnum:24}\"",
            "authToken: \"@{rand:alnum:24}\"",
            "querykey_password = \"@{rand:alnum:24}\"",
        ],
        test: |c| !name_tokens(c.name()).iter().any(|t| is_secret_token(t)),
    },
    Shape {
        id: "descriptor-after-secret-word",
        why: "a word after the secret word says the value describes the secret (its name, size, type, header, format, algorithm, date) or is a build variable, not the secret itself",
        examples: &[
            "AUTH_USER_MODEL = 'auth_tests.CustomUser9'",
            "password_encryption = 'scram-sha-256'",
            "HAVE_PTHREAD_KEY_CREATE = yes_we_have_it9",
            "pkcs11_token_raw_SOURCES = pkcs11/token-raw9.c",
            "premaster_secret.size = GNUTLS_MASTER_SIZE;",
            "AUTH_TOKEN_HEADER = 'X-Auth-Token9'",
            "deleteSecretOp   = \"DELETE_SECRET_OP9\"",
            "BootstrapTokenSecretPrefix = \"bootstrap-token-9\"",
            "tokenName := \"token.name-123\"",
            "token.issued_at = \"2013-05-21T00:02:43.941473Z\"",
        ],
        counter_examples: &[
            "secret_key_base = \"@{rand:alnum:24}\"",
            "TEST_PASSWORD_NEW=\"@{rand:alnum:24}\"",
            "PrivateKeyRaw = @{rand:alnum:24}",
            "user.password_confirmation = '@{rand:alnum:24}'",
        ],
        test: |c| descriptor_after_secret_word(c.name()),
    },
    Shape {
        id: "comparison",
        why: "`==`, `===` and `!=` compare, they do not assign",
        examples: &["if(e.keyCode===38){prev=Polymer.dom(this)}"],
        counter_examples: &["e.apiKey=\"@{rand:alnum:24}\""],
        test: |c| {
            let v = c.value();
            v.first() == Some(&b'=') || c.between().windows(2).any(|w| w == b"==")
        },
    },
    Shape {
        id: "colon-field-list",
        why: "a name, a colon and an unquoted value with no space is a colon-separated data line (error tables, test-suite data, labels), not YAML or JSON",
        examples: &[
            "BN_R_PRIVATE_KEY_TOO_LARGE:117:private key too large",
            "(\\fISERVER_AUTH:TRUSTED_DELEGATOR\\fP).",
            "auth_decrypt_case:CIPHER_AES_128_CBC:\"00aa\"",
        ],
        counter_examples: &[
            "{\"token\":\"@{rand:alnum:24}\"}",
            "secret_key_base: @{rand:alnum:24}",
        ],
        test: |c| {
            let between = c.between();
            between.last() == Some(&b':') && !between.iter().any(|b| b.is_ascii_whitespace())
        },
    },
    Shape {
        id: "label-of-following-key",
        why: "a key's name on the line before its PEM block (`PrivateKey=ALICE_cf_sect163k1`): the block is reported by the private-key rules, the name is a label",
        examples: &[
            "PrivateKey=ALICE_cf_sect163k1\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        ],
        counter_examples: &[
            "private_key = @{rand:alnum:24}\nnext = 1\n",
        ],
        test: |c| {
            let rest = &c.hay[c.value.end..c.hay.len().min(c.value.end + LOOK)];
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                return false;
            };
            rest[nl + 1..].trim_ascii_start().starts_with(b"-----BEGIN ")
        },
    },
    Shape {
        id: "known-answer-test-vector",
        why: "a hex value in a stanza of known-answer test data (`Output = …`, `Ciphertext = …`, `SharedSecret = …` nearby): a published crypto test vector, not a credential",
        examples: &[
            "KDF = SSKDF\nCtrl.digest = digest:SHA1\nCtrl.hexsecret = hexsecret:d09a6b1a472f930db4f5e6b967900744\nOutput = b5a3c52e97ae6e8c5069954354eab3c7\n",
            "Derive=ALICE_secp112r1\nPeerKey=BOB_secp112r1_PUB\nSharedSecret=a6cefb5aa7a352afe818749eb401\n",
            "KDF = SSKDF\nCtrl.hexsecret = hexsecret:d7e6\nOutput = 31e798e9931b612a3ad1b9b1008faa8c\n",
        ],
        counter_examples: &[
            "AUTH_1=0xd4f8c2e61a9b7035f2c8e1d4a6b9c3f7\nENC_1=0xfc46c20f8048be9725930ff3fb07ac2a\n",
            "sambaLMPassword: 3F1A92C07B6D48E5A1C93D07F2B86E41\nsambaNTPassword: C2AE1FE6E648846352453E816F2AEB93\n",
        ],
        test: |c| is_hex_value(c.value()) && near_known_answer_lines(c),
    },
    Shape {
        id: "autoconf-substitution",
        why: "`@NAME@` is replaced by configure: a build variable, not a value",
        examples: &[
            "HAVE_PTHREAD_KEY = @HAVE_PTHREAD_KEY_CREATE@",
            "LIB_XauReadAuth\t\t= @LIB_XauReadAuth@",
            "auth_to_local = DB:@srcdir@/an2ln-db.txt DEFAULT",
        ],
        counter_examples: &[
            "db_password = @{rand:alnum:10}@@{rand:alnum:14}",
            "password = \"am@z1ng_p@ssw0rd#!\"",
        ],
        test: |c| {
            let start = c.value.start.saturating_sub(1);
            has_autoconf_variable(&c.hay[start..c.value.end])
        },
    },
    Shape {
        id: "file-name",
        why: "the value is a file name (`ca.key`, `oauth2.c`, `FILE:ca.pem`): a key file's or a build input's name, not its content",
        examples: &[
            "private_key = EdelCurlRoot-ca.key",
            "vauth/libcurl_la-oauth2.lo: vauth/oauth2.c",
            "--ca-private-key=FILE:cert-ca.pem \\",
            "check-keys: check-keys.in Makefile",
            "$(OUTPUT)/sign_key.o: sign_key.S",
        ],
        counter_examples: &[
            "token: \"9a08jv.c0izixklcxtmnze7\"",
            "access_token = \"ya29.CjWdA4GiBPTt\"",
        ],
        test: |c| is_file_name(c.value()),
    },
    Shape {
        id: "constant-name",
        why: "an UPPER_SNAKE value is a constant, macro or variable name: under a key, token or secret name always, under a password name when it names a secret itself (`DOCKER_PASSWORD`)",
        examples: &[
            "format_key = 'DATE_INPUT_FORMATS'",
            "env_key: \"RAILS_MASTER_KEY\", raise_if_missing_key: true",
            "var ReactPropTypesSecret = 'SECRET_DO_NOT_PASS_THIS_OR_YOU_WILL_BE_FIRED';",
            "client-key: KUBELET_KEY_PATH",
            "--docker-password=DOCKER_PASSWORD --docker-email=DOCKER_EMAIL",
            "FL_KEY = HIST_FIELD_FL_KEY",
            "  --restrict-key=BEGRÄNSNINGS_NYCKEL  use provided string",
        ],
        counter_examples: &[
            "'password1': '@{rand:upper:9}_@{rand:upper:5}',",
            "const char *secret5 = \"NEW-SAMBA4-@{rand:upper:3}7@{rand:upper:4}\";",
        ],
        test: |c| {
            let v = c.value();
            is_upper_snake(v) && (!password_named(c.name()) || names_a_secret(v))
        },
    },
    Shape {
        id: "reference",
        why: "the value is a reference: a dotted name made of words (`bp.SYSTEM_ADMIN`, `self.token_id`, `app.Model`) or, unquoted, a bare identifier of several words (`trust_token`; a single word such as `letmein` may be the password itself)",
        examples: &[
            "'identity:create_credential': bp.SYSTEM_ADMIN_OR_CRED_OWNER,",
            "headers={'X-Auth-Token': trust_token},",
            "delta_time_key = OLD.time_key;",
            "@override_settings(AUTH_TOKEN='auth_tests.CustomEmailField')",
        ],
        counter_examples: &[
            "access_token = \"ya29.CjWdA4GiBPTt\"",
            "password: dmFsdWUtMg0K",
            "SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY",
            "token: \"9a08jv.c0izixklcxtmnze7\"",
        ],
        test: |c| {
            let v = trim_closers(c.value());
            is_dotted_reference(v)
                || (!c.quoted() && is_word_identifier(v) && name_tokens(v).len() >= 2)
        },
    },
    Shape {
        id: "value-is-the-name",
        why: "the value repeats the name (`X-Auth-Token: X-Auth-Token`, an enum's string form), or is a member of that name (`csrfToken = Rails.csrfToken`)",
        examples: &[
            "- X-Auth-Token: X-Auth-Token",
            "nbt.NBT_SERVER_SELECT_SECRET_DOMAIN_6: \"SELECT_SECRET_DOMAIN_6\",",
            "csrfToken = Rails.csrfToken = ->",
        ],
        counter_examples: &[
            "auth_token: @{rand:alnum:24}",
            "apiToken = \"@{rand:alnum:12}.@{rand:alnum:16}\"",
        ],
        test: |c| {
            let (n, v) = (c.name(), c.value());
            let member = v.rsplit(|&b| b == b'.').next().unwrap_or(v);
            let repeats = |v: &[u8]| {
                v.len() >= 8 && n.len() >= v.len() && n[n.len() - v.len()..].eq_ignore_ascii_case(v)
            };
            repeats(v) || (member.len() < v.len() && is_identifier(member) && repeats(member))
        },
    },
    Shape {
        id: "resource-path",
        why: "the secret word is the last segment of a path used as a key (`\"v1/secrets\": …`, `\"/oauth/token\": …`): an API resource or route, whose values are hashes and handlers",
        examples: &["\"v1/secrets\": \"S6u1pOWzb84=\",", "'/oauth/token': '@{rand:alnum:24}',"],
        counter_examples: &[
            "\"client_secret\": \"@{rand:alnum:24}\"",
            "vault kv put secret/app api_key=@{rand:alnum:32}",
        ],
        test: |c| c.name.start > 0 && c.hay[c.name.start - 1] == b'/' && c.quoted_name(),
    },
    Shape {
        id: "template-or-interpolation",
        why: "test-suite variables (`%TESTNUMBER`, `%HOSTIP`) and `{name}` interpolation (`{$var}`, `@{x}`) are filled in later",
        examples: &[
            "CURL_NTLM_AUTH_TESTNUM=%TESTNUMBER",
            "'pop3://user;AUTH=EXTERNAL@%HOSTIP:%POP3PORT/%TESTNUMBER'",
            "meta_key = '{$level_key}'",
            "api_token = 'Bearer{session_token}'",
        ],
        counter_examples: &["db_password = \"@{rand:alnum:4}%2F@{rand:alnum:16}\""],
        test: |c| {
            let v = c.value();
            has_braced_name(v) || has_percent_variable(v)
        },
    },
    Shape {
        id: "encoded-text",
        why: "percent-encoded spaces (`this%20is%20a%20label`): a phrase, not a key",
        examples: &["\"token=this%20is%20a%20very%20long%20label%20whose\""],
        counter_examples: &["token=@{rand:alnum:10}%2F@{rand:alnum:14}"],
        test: |c| memchr::memmem::find_iter(c.value(), b"%20").nth(1).is_some(),
    },
    Shape {
        id: "expression",
        why: "a composite literal, address or subscript (`&Block{…}`, `id[integer]:5000`) is code",
        examples: &[
            "var privateKey2 = &Block{Type: \"RSA PRIVATE KEY\",",
            "old-key: id[integer]:5000 new-tuple: id[integer]:-5000",
        ],
        counter_examples: &["api_key = \"@{rand:alnum:4}&@{rand:alnum:20}\""],
        test: |c| {
            let v = c.value();
            matches!(v.first(), Some(b'&' | b'*' | b'{' | b'['))
                || subscript_or_literal(v)
        },
    },
    Shape {
        id: "timestamp",
        why: "an ISO 8601 date or time stamp",
        examples: &["token_issued = \"2013-05-21T00:02:43.941473Z\""],
        counter_examples: &["token = \"2013@{rand:alnum:24}\""],
        test: |c| is_timestamp(c.value()),
    },
    Shape {
        id: "algorithm-name",
        why: "the value names algorithms (`scram-sha-256`, `des3-cbc-sha1:pw-salt`)",
        examples: &[
            "'password_enc' => \"scram-sha-256\");",
            "default_keys = des3-cbc-sha1:pw-salt",
        ],
        counter_examples: &["api_key = \"aes-@{rand:alnum:24}\""],
        test: |c| is_algorithm_list(c.value()),
    },
    Shape {
        id: "password-hash",
        why: "a password hash in a hasher's format (`pbkdf2_sha256$…`, `$2b$…`): what a system stores instead of the password",
        examples: &[
            "ADMIN_PASSWORD = 'pbkdf2_sha256$30000$Vo0VlMnkR4Bk$qEvtdyZRWTcOsCnI/oQ7fVOu1XAURIZYoOZ3iq8Dr4M='",
        ],
        counter_examples: &["ADMIN_PASSWORD = '@{rand:alnum:4}$@{rand:alnum:20}'"],
        test: |c| is_password_hash(c.value()),
    },
    Shape {
        id: "public-identifier",
        why: "public identifiers: an analytics property id (`UA-…`), a GPG key id or fingerprint",
        examples: &[
            "\"token\": \"UA-136142416-1\"",
            "GITHUB_CLI_ARCHIVE_GPG_KEY=C99B11DEB97541F0",
        ],
        counter_examples: &["SIGNING_KEY=C99B11DEB97541F0A7CE5719"],
        test: |c| {
            let v = c.value();
            is_analytics_id(v) || (gpg_named(c.name()) && is_gpg_key_id(v))
        },
    },
    Shape {
        id: "elided",
        why: "a value shortened with `...` in documentation",
        examples: &["tls.key: LS0tLS1CRUd...0tLQo="],
        counter_examples: &["tls.key: LS0tLS1CRUd@{rand:alnum:16}0tLQo="],
        test: |c| memchr::memmem::find(c.value(), b"...").is_some(),
    },
    Shape {
        id: "pkcs11-uri",
        why: "`token=` in a PKCS#11 URI (RFC 7512) is a token's label, not a token",
        examples: &[
            "p11tool --list-tokens pkcs11:token=Nikos|grep URL",
            "pkcs11:token=Root%20CA%20Certificates;serial=1",
            "--list-tokens pkcs11:token=Nikos|grep URL|grep token=GnuTLS-Test|sed 's/x//'",
        ],
        counter_examples: &["curl -d token=@{rand:alnum:24}"],
        test: |c| {
            memchr::memmem::find(&c.line_before_name().to_ascii_lowercase(), b"pkcs11:").is_some()
        },
    },
];

/// The first shape that says this generic candidate is not a secret, if any.
pub fn rejected_by(c: &Candidate) -> Option<&'static Shape> {
    SHAPES.iter().find(|s| (s.test)(c))
}

/// Splits a name into lowercase tokens at `_`, `-`, `.`, other punctuation and case changes
/// (`secretKeyBase` → secret, key, base; `XMLToken` → xml, token).
fn name_tokens(name: &[u8]) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    for (i, &b) in name.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| name[p]);
        let next = name.get(i + 1);
        let boundary = b.is_ascii_uppercase()
            && (prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
        if boundary && !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
        cur.push(b.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
}

const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "pwd",
    "token",
    "key",
    "credential",
    "auth",
    "passphrase",
];

/// Whether a name token is, or ends with, a secret word (trailing digits and a plural `s`
/// aside): `password1`, `apikey`, `oauth`, `credentials` count; `author`, `keymap` do not, nor
/// `auth0` and `oauth2`, a provider's and a protocol's names (`AUTH0_CLIENT` is an id).
fn is_secret_token(token: &str) -> bool {
    let t = token.trim_end_matches(|c: char| c.is_ascii_digit());
    // `pass` only as a whole token (`SMTP_PASS`, `db.pass`): as an ending it is `bypass`.
    if t == "pass" {
        return true;
    }
    if t.len() < token.len() && t.ends_with("auth") {
        return false;
    }
    let t = t.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(t);
    SECRET_WORDS.iter().any(|w| t.ends_with(w))
}

/// Words that, after a name's secret word, say the value is about the secret rather than the
/// secret (`token_name`, `password_encryption`) or is a build variable (`key_SOURCES`).
const DESCRIPTORS: &[&str] = &[
    "name",
    "names",
    "id",
    "ids",
    "type",
    "types",
    "kind",
    "size",
    "len",
    "length",
    "count",
    "prefix",
    "suffix",
    "op",
    "env",
    "var",
    "header",
    "headers",
    "model",
    "format",
    "formats",
    "pattern",
    "regex",
    "url",
    "uri",
    "path",
    "file",
    "filename",
    "dir",
    "mode",
    "method",
    "encryption",
    "algorithm",
    "alg",
    "algo",
    "instant",
    "at",
    "date",
    "time",
    "expiry",
    "expires",
    "expiration",
    "timeout",
    "ttl",
    "sources",
    "dependencies",
    "ldadd",
    "libadd",
    "ldflags",
    "cflags",
    "objects",
    "create",
    "delete",
    "field",
    "label",
    "title",
    "usage",
    "socket",
    "endpoint",
    "host",
    "port",
    "version",
    "index",
    "offset",
    "bits",
    "policy",
    "scope",
    "provider",
    "class",
    "param",
    "option",
    "flag",
    "flags",
    "status",
    "hash",
    "digest",
    "checksum",
    "store",
    "dist",
];

fn descriptor_after_secret_word(name: &[u8]) -> bool {
    let tokens = name_tokens(name);
    let Some(last) = tokens.iter().rposition(|t| is_secret_token(t)) else {
        return false;
    };
    tokens[last + 1..]
        .iter()
        .any(|t| DESCRIPTORS.contains(&t.as_str()))
}

/// Whether the last word of `name` is a password word (`DB_PASSWORD`, `smtpPass`, `pwd2`):
/// `MinimumPasswordAge` and `ac_cv_header_pwd_h` describe something about a password.
pub fn names_a_password(name: &[u8]) -> bool {
    name_tokens(name).last().is_some_and(|t| {
        let t = t.trim_end_matches(|c: char| c.is_ascii_digit());
        t == "pass"
            || t == "pwd"
            || t == "passphrase"
            || t.ends_with("password")
            || t.ends_with("passwd")
    })
}

fn password_named(name: &[u8]) -> bool {
    name_tokens(name).iter().any(|t| {
        let t = t.trim_end_matches(|c: char| c.is_ascii_digit());
        t == "pass"
            || ["password", "passwd", "pwd", "passphrase"]
                .iter()
                .any(|w| t.ends_with(w))
    })
}

/// UPPER_SNAKE_CASE with at least two parts: `DATE_INPUT_FORMATS`, `HIST_FIELD_FL_KEY`.
fn is_upper_snake(v: &[u8]) -> bool {
    v.first().is_some_and(u8::is_ascii_uppercase)
        && v.contains(&b'_')
        && !v.ends_with(b"_")
        && v.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_' || *b >= 0x80)
}

/// Whether an UPPER_SNAKE value names a secret (`DOCKER_PASSWORD`, `RAILS_MASTER_KEY`).
fn names_a_secret(v: &[u8]) -> bool {
    v.split(|&b| b == b'_').any(|part| {
        let t = String::from_utf8_lossy(part).to_ascii_lowercase();
        is_secret_token(&t) || t.ends_with("pass")
    })
}

/// Hex digits, optionally after `0x` or an OpenSSL control prefix (`hexsecret:`, `hexkey:`).
fn is_hex_value(v: &[u8]) -> bool {
    let (v, min) = match memchr::memchr(b':', v) {
        // A prefix says the rest is hex, however short.
        Some(i) if v[..i].starts_with(b"hex") && v[..i].iter().all(u8::is_ascii_alphabetic) => {
            (&v[i + 1..], 1)
        }
        _ => (v, 8),
    };
    let v = v.strip_prefix(b"0x").unwrap_or(v);
    v.len() >= min && v.iter().all(u8::is_ascii_hexdigit)
}

/// Field names of known-answer test data: operations and expected outputs.
const KNOWN_ANSWER_FIELDS: &[&str] = &[
    "output",
    "ciphertext",
    "plaintext",
    "sharedsecret",
    "md",
    "digest",
    "tag",
    "result",
    "expected",
    "kdf",
    "derive",
    "peerkey",
    "cipher",
    "count",
    "iv",
    "nonce",
    "msg",
    "pt",
    "ct",
    "aad",
    "mac",
    "pbe",
];

/// Whether one of the eight lines before or after the candidate's line (within `LOOK` bytes)
/// is `Field = …` with a known-answer field name.
fn near_known_answer_lines(c: &Candidate) -> bool {
    let lo = c.value.start.saturating_sub(LOOK);
    let hi = c.hay.len().min(c.value.end + LOOK);
    let line_start = memchr::memrchr(b'\n', &c.hay[lo..c.value.start]).map_or(lo, |i| lo + i + 1);
    let line_end = memchr::memchr(b'\n', &c.hay[c.value.end..hi]).map_or(hi, |i| c.value.end + i);
    let before = c.hay[lo..line_start].split(|&b| b == b'\n').rev().take(9);
    let after = c.hay[line_end.min(hi)..hi].split(|&b| b == b'\n').take(9);
    before.chain(after).any(|line| {
        let Some(eq) = memchr::memchr(b'=', line) else {
            return false;
        };
        let field = line[..eq].trim_ascii();
        KNOWN_ANSWER_FIELDS
            .iter()
            .any(|f| field.eq_ignore_ascii_case(f.as_bytes()))
    })
}

/// `@NAME@` (configure's substitution syntax) anywhere in `v`.
fn has_autoconf_variable(v: &[u8]) -> bool {
    let ats: Vec<usize> = memchr::memchr_iter(b'@', v).collect();
    ats.windows(2).any(|w| {
        let inner = &v[w[0] + 1..w[1]];
        let whole = w[0] == 0 && w[1] == v.len() - 1;
        let one_case = inner.iter().all(|b| b.is_ascii_lowercase() || *b == b'_')
            || inner
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
        inner.len() >= 3
            && inner[0].is_ascii_alphabetic()
            && inner
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            && (whole || one_case)
    })
}

/// File extensions of keys, certificates, sources, objects and build inputs.
const FILE_EXTENSIONS: &[&str] = &[
    "key", "pem", "crt", "cer", "der", "csr", "p12", "pfx", "jks", "c", "h", "cc", "cpp", "s", "o",
    "lo", "la", "a", "so", "in", "am", "mk", "py", "rb", "go", "js", "ts", "java", "txt", "json",
    "yaml", "yml", "xml", "conf", "cfg", "ini", "sh", "html", "md", "rst", "log",
];

/// `name.ext` (optionally after `dir/` or `FILE:`) with a known extension.
fn is_file_name(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"FILE:").unwrap_or(v);
    let base = v.rsplit(|&b| b == b'/').next().unwrap_or(v);
    let Some(dot) = memchr::memrchr(b'.', base) else {
        return false;
    };
    let (stem, ext) = (&base[..dot], &base[dot + 1..]);
    !stem.is_empty()
        && stem
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && FILE_EXTENSIONS
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e.as_bytes()))
}

fn trim_closers(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b')' | b']' | b'}'))
        .map_or(0, |i| i + 1);
    &v[..end]
}

/// `a.b` or `a.b.c` where every part is an identifier made of words.
fn is_dotted_reference(v: &[u8]) -> bool {
    v.contains(&b'.') && v.split(|&b| b == b'.').all(is_word_identifier_part)
}

fn is_word_identifier_part(part: &[u8]) -> bool {
    !part.is_empty() && (part.len() <= 4 && is_identifier(part) || is_word_identifier(part))
}

fn is_identifier(v: &[u8]) -> bool {
    v.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// An identifier whose letters are mostly in word-like chunks of three or more (vowels, short
/// consonant clusters) and with few digits: `trust_token`, `CustomUserUniqueConstraint`,
/// `SYSTEM_ADMIN_OR_CRED_OWNER`; not `CjWdA4GiBPTt`.
fn is_word_identifier(v: &[u8]) -> bool {
    if !is_identifier(v) || v.len() < 3 {
        return false;
    }
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    if digits * 6 > v.len() {
        return false;
    }
    let tokens = name_tokens(v);
    let letters: usize = tokens
        .iter()
        .map(|t| t.bytes().filter(u8::is_ascii_alphabetic).count())
        .sum();
    let worded: usize = tokens
        .iter()
        .flat_map(|t| t.split(|c: char| c.is_ascii_digit()))
        .filter(|w| w.len() >= 3 && word_like(w.as_bytes()))
        .map(str::len)
        .sum();
    letters > 0 && worded * 10 >= letters * 7
}

/// Lowercase letters that read like a word: a vowel, no more than four consonants in a row.
fn word_like(w: &[u8]) -> bool {
    let vowel = |b: &u8| b"aeiouy".contains(b);
    let mut cluster = 0;
    let mut longest = 0;
    for b in w {
        cluster = if vowel(b) { 0 } else { cluster + 1 };
        longest = longest.max(cluster);
    }
    w.iter().any(vowel) && longest <= 4
}

/// `{name}` with a name of letters, digits, `_`, `:`, `.` or a leading `$` inside.
fn has_braced_name(v: &[u8]) -> bool {
    memchr::memchr_iter(b'{', v).any(|open| {
        let inner = &v[open + 1..];
        let inner = inner.strip_prefix(b"$").unwrap_or(inner);
        let len = inner
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.'))
            .count();
        len >= 1 && inner.get(len) == Some(&b'}') && inner[0].is_ascii_alphabetic()
    })
}

/// `%WORD` of four or more capitals (not a `%XX` percent escape): a test-suite variable.
fn has_percent_variable(v: &[u8]) -> bool {
    memchr::memchr_iter(b'%', v).any(|i| {
        let rest = &v[i + 1..];
        let run = rest
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            .count();
        run >= 4
            && rest[0].is_ascii_uppercase()
            && !(rest[0].is_ascii_hexdigit() && rest[1].is_ascii_hexdigit())
    })
}

/// `ident[` (subscript) or `Ident{` (composite literal) inside the value.
fn subscript_or_literal(v: &[u8]) -> bool {
    v.iter().enumerate().any(|(i, &b)| {
        matches!(b, b'[' | b'{') && i >= 2 && is_identifier(&v[i.saturating_sub(2)..i])
    })
}

fn is_timestamp(v: &[u8]) -> bool {
    v.len() >= 10
        && v[..4].iter().all(u8::is_ascii_digit)
        && v[4] == b'-'
        && v[5..7].iter().all(u8::is_ascii_digit)
        && v[7] == b'-'
        && v[8..10].iter().all(u8::is_ascii_digit)
}

const ALGORITHM_WORDS: &[&str] = &[
    "scram", "sha", "sha1", "sha224", "sha256", "sha384", "sha512", "md4", "md5", "hmac", "aes",
    "des", "des3", "cbc", "gcm", "ctr", "ecb", "ccm", "rsa", "dsa", "ecdsa", "ecdh", "ecc", "dh",
    "pbkdf2", "bcrypt", "scrypt", "argon2", "argon2id", "x25519", "ed25519", "chacha20",
    "poly1305", "rc4", "hkdf", "kdf", "ntlm", "cram", "plain", "salt", "pw", "normal", "afs3",
];

/// Parts separated by `-`, `_`, `:` that are all algorithm words or numbers, one at least a
/// word: `scram-sha-256`, `des3-cbc-sha1:pw-salt`.
fn is_algorithm_list(v: &[u8]) -> bool {
    let parts: Vec<&[u8]> = v
        .split(|b| matches!(b, b'-' | b'_' | b':'))
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() >= 2
        && parts.iter().any(|p| p.iter().any(u8::is_ascii_alphabetic))
        && parts.iter().all(|p| {
            p.iter().all(u8::is_ascii_digit)
                || ALGORITHM_WORDS
                    .iter()
                    .any(|w| p.eq_ignore_ascii_case(w.as_bytes()))
        })
}

fn is_password_hash(v: &[u8]) -> bool {
    const HASHERS: &[&str] = &[
        "pbkdf2_sha256$",
        "pbkdf2_sha1$",
        "argon2$",
        "bcrypt_sha256$",
        "bcrypt$",
        "scrypt$",
        "sha1$",
        "md5$",
        "$2a$",
        "$2b$",
        "$2y$",
        "$argon2",
        "$6$",
        "$5$",
        "$1$",
        "{SSHA}",
        "{SHA}",
    ];
    HASHERS.iter().any(|h| v.starts_with(h.as_bytes()))
}

/// `UA-<digits>-<digits>` (Google Analytics property id, printed in every page).
fn is_analytics_id(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"UA-") else {
        return false;
    };
    let mut parts = rest.split(|&b| b == b'-');
    let ok =
        |p: Option<&[u8]>| p.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn gpg_named(name: &[u8]) -> bool {
    name_tokens(name)
        .iter()
        .any(|t| matches!(t.as_str(), "gpg" | "pgp" | "gnupg"))
}

/// A GPG key id (8 or 16 hex digits) or fingerprint (40).
fn is_gpg_key_id(v: &[u8]) -> bool {
    matches!(v.len(), 8 | 16 | 40) && v.iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::rules::templates::{expand, ExampleRng};
    use crate::rules::RulePack;

    fn generic_findings(engine: &Engine, text: &str) -> usize {
        engine
            .scan(text.as_bytes())
            .iter()
            .filter(|m| engine.rule(m.rule).id == "generic-secret-assignment")
            .count()
    }

    /// Every shape rejects its examples and keeps its counter-examples, through the real
    /// engine and the embedded generic rule.
    #[test]
    fn every_shape_rejects_its_examples_and_keeps_its_counter_examples() {
        let engine = Engine::new(RulePack::embedded().unwrap(), 2);
        let mut failures = Vec::new();
        // Random values are generated, as in rule examples: no key-like literal in the source.
        let mut rng = ExampleRng::new(16);
        for shape in SHAPES {
            for example in shape.examples {
                let example = expand(example, &mut rng).unwrap();
                if generic_findings(&engine, &example) != 0 {
                    failures.push(format!("{}: reported {example:?}", shape.id));
                }
            }
            for counter in shape.counter_examples {
                let counter = expand(counter, &mut rng).unwrap();
                if generic_findings(&engine, &counter) == 0 {
                    failures.push(format!("{}: missed {counter:?}", shape.id));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn names_split_into_tokens_on_case_and_separators() {
        assert_eq!(name_tokens(b"secretKeyBase"), ["secret", "key", "base"]);
        assert_eq!(name_tokens(b"XMLToken"), ["xml", "token"]);
        assert_eq!(name_tokens(b"AUTH_USER_MODEL"), ["auth", "user", "model"]);
        assert_eq!(name_tokens(b"Ctrl.hexsecret"), ["ctrl", "hexsecret"]);
        assert!(is_secret_token("password1"));
        assert!(is_secret_token("apikey"));
        assert!(is_secret_token("credentials"));
        assert!(!is_secret_token("author"));
        assert!(!is_secret_token("auth0") && !is_secret_token("oauth2"));
        assert!(is_secret_token("oauth") && is_secret_token("password1"));
        assert!(!is_secret_token("keymap"));
        assert!(!is_secret_token("keywords"));
        assert!(is_secret_token("pass"));
        assert!(!is_secret_token("bypass") && !is_secret_token("compass"));
    }

    #[test]
    fn word_identifiers_are_told_from_random_strings() {
        for word in [
            "trust_token",
            "CustomUserUniqueConstraint",
            "SYSTEM_ADMIN_OR_CRED_OWNER",
        ] {
            assert!(is_word_identifier(word.as_bytes()), "{word}");
        }
        for random in [
            "CjWdA4GiBPTt",
            "dmFsdWUtMg0K",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY",
            "fq35fuyue3kd4gda",
        ] {
            assert!(!is_word_identifier(random.as_bytes()), "{random}");
        }
    }
}
