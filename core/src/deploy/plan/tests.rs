use super::super::store::{Plan, PlanVar};
use super::{
    git_variables, image_reference, redactor, registry_auth, resolve_all, service_env, Resolved,
};
use stack::model::ServiceSpec;
use std::collections::BTreeMap;

#[test]
fn git_variables_give_the_sha_its_short_form_and_the_branch() {
    let v = git_variables("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "main");
    assert_eq!(v["GIT_SHA"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    assert_eq!(v["GIT_SHORT_SHA"], "0d1a26e");
    assert_eq!(v["GIT_BRANCH"], "main");
    let spec = ServiceSpec {
        name: "web".into(),
        image: "registry/app:${GIT_BRANCH}-${GIT_SHORT_SHA}".into(),
        ..Default::default()
    };
    assert_eq!(
        image_reference(
            &spec,
            &Resolved {
                all: v.clone(),
                ..Default::default()
            }
        )
        .unwrap(),
        "registry/app:main-0d1a26e"
    );
    assert!(git_variables("", "").is_empty());
}

fn plan() -> Plan {
    let mut p = Plan::default();
    p.variables.insert(
        "DB_PASSWORD".into(),
        PlanVar {
            secret: true,
            value: None,
            version: 1,
        },
    );
    p.variables.insert(
        "DATABASE_URL".into(),
        PlanVar {
            secret: false,
            value: Some("postgres://app:${DB_PASSWORD}@db/app".into()),
            version: 1,
        },
    );
    p
}

#[test]
fn secrets_resolve_into_plain_values_and_the_redactor_masks_them() {
    let secrets = BTreeMap::from([("DB_PASSWORD".to_string(), "s3cr3t-pw".to_string())]);
    let extra = BTreeMap::from([("GIT_SHA".to_string(), "abc123".to_string())]);
    let all = resolve_all(&plan(), &secrets, &extra).unwrap();
    assert_eq!(all.all["DATABASE_URL"], "postgres://app:s3cr3t-pw@db/app");
    let spec = ServiceSpec {
        name: "web".into(),
        image: "shop:${GIT_SHA}".into(),
        ..Default::default()
    };
    assert_eq!(image_reference(&spec, &all).unwrap(), "shop:abc123");
    let r = redactor(&secrets);
    assert!(!r.redact(&all.all["DATABASE_URL"]).contains("s3cr3t-pw"));
}

#[test]
fn a_missing_secret_is_named_without_values() {
    let errs = resolve_all(&plan(), &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("DB_PASSWORD")), "{errs:?}");
}

fn world() -> Resolved {
    let mut p = plan();
    for (name, secret, value) in [
        ("REGISTRY_PASSWORD", true, None),
        ("BERTH_SMTP_PASSWORD", true, None),
        ("PULL_AUTH", false, Some("user:${REGISTRY_PASSWORD}")),
        ("PULL_AUTH_B64", false, Some("x${PULL_AUTH}")),
        ("API_KEY", true, None),
        ("SITE_NAME", false, Some("shop")),
    ] {
        p.variables.insert(
            name.into(),
            PlanVar {
                secret,
                value: value.map(String::from),
                version: 1,
            },
        );
    }
    let secrets = BTreeMap::from([
        ("DB_PASSWORD".to_string(), "s3cr3t-pw".to_string()),
        (
            "REGISTRY_PASSWORD".to_string(),
            "registry-pw-123".to_string(),
        ),
        ("BERTH_SMTP_PASSWORD".to_string(), "smtp-pw-456".to_string()),
        ("API_KEY".to_string(), "api-key-789".to_string()),
    ]);
    resolve_all(&p, &secrets, &BTreeMap::new()).unwrap()
}

fn env_of(spec: &ServiceSpec) -> Result<BTreeMap<String, String>, Vec<String>> {
    service_env(spec, &world()).map(|v| v.into_iter().collect())
}

#[test]
fn inheriting_everything_leaves_out_berths_own_names_and_what_is_made_of_them() {
    let env = env_of(&ServiceSpec {
        name: "web".into(),
        ..Default::default()
    })
    .unwrap();
    for gone in [
        "REGISTRY_PASSWORD",
        "BERTH_SMTP_PASSWORD",
        "PULL_AUTH",
        "PULL_AUTH_B64",
    ] {
        assert!(!env.contains_key(gone), "{gone} reached the container");
    }
    let all = env.values().cloned().collect::<Vec<_>>().join("\n");
    assert!(!all.contains("registry-pw-123") && !all.contains("smtp-pw-456"));
    assert_eq!(env["API_KEY"], "api-key-789");
    assert_eq!(env["DATABASE_URL"], "postgres://app:s3cr3t-pw@db/app");
}

#[test]
fn a_service_with_a_list_gets_only_those_names_and_its_own_references() {
    let env = env_of(&ServiceSpec {
        name: "db".into(),
        inherit: Some(vec!["SITE_NAME".into()]),
        env: BTreeMap::from([("POSTGRES_PASSWORD".into(), "${DB_PASSWORD}".into())]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        env,
        BTreeMap::from([
            ("POSTGRES_PASSWORD".to_string(), "s3cr3t-pw".to_string()),
            ("SITE_NAME".to_string(), "shop".to_string()),
        ])
    );
    let none = env_of(&ServiceSpec {
        name: "cache".into(),
        inherit: Some(vec![]),
        ..Default::default()
    })
    .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn naming_or_referencing_a_reserved_name_is_refused_without_its_value() {
    for spec in [
        ServiceSpec {
            name: "a".into(),
            inherit: Some(vec!["REGISTRY_PASSWORD".into()]),
            ..Default::default()
        },
        ServiceSpec {
            name: "b".into(),
            env: BTreeMap::from([("X".into(), "${REGISTRY_PASSWORD}".into())]),
            ..Default::default()
        },
        ServiceSpec {
            name: "c".into(),
            env: BTreeMap::from([("X".into(), "${PULL_AUTH}".into())]),
            ..Default::default()
        },
        ServiceSpec {
            name: "d".into(),
            env: BTreeMap::from([("BERTH_TOKEN".into(), "literal".into())]),
            ..Default::default()
        },
    ] {
        let errs = env_of(&spec).unwrap_err().join("; ");
        assert!(errs.contains("used by Berth"), "{errs}");
        assert!(!errs.contains("registry-pw-123"), "{errs}");
    }
    let undefined = env_of(&ServiceSpec {
        name: "e".into(),
        inherit: Some(vec!["NOPE".into()]),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        undefined[0].contains("`NOPE`, which is not defined"),
        "{undefined:?}"
    );
}

#[test]
fn image_references_and_registry_login_still_see_berths_names() {
    let r = world();
    assert!(registry_auth(&r).is_none(), "no username set");
    let spec = ServiceSpec {
        name: "web".into(),
        image: "${SITE_NAME}:1".into(),
        ..Default::default()
    };
    assert_eq!(image_reference(&spec, &r).unwrap(), "shop:1");
    let leak = ServiceSpec {
        name: "web".into(),
        image: "evil.example/x:${REGISTRY_PASSWORD}".into(),
        ..Default::default()
    };
    let err = image_reference(&leak, &r).unwrap_err();
    assert!(
        err.contains("used by Berth") && !err.contains("registry-pw"),
        "{err}"
    );
    assert!(r.all.contains_key("REGISTRY_PASSWORD"));
}
