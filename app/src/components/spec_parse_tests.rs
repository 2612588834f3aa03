//! The form texts round-trip: spec → text → spec gives the spec back.
use super::*;
use crate::components::spec_text::{ServiceText, SiteText};

fn seed_site() -> SiteSpec {
    SiteSpec {
        name: "site-a".into(),
        hosts: parse_hosts("production: site-a.com www.site-a.com\nstaging: a.staging.test").unwrap(),
        routes: parse_routes(
            "/static/ -> files /app/static/ 1y\n/media/ -> files /app/media/\n/api/ -> service authoring\n/admin/ -> service authoring\n/ -> service portal",
        )
        .unwrap(),
        health_path: "/api/health".into(),
        smoke_checks: parse_smoke_checks("/api/feed?size=1 | .items non-empty | .debug.site == ${HOST}").unwrap(),
        tls: parse_tls("production: /etc/nginx/ssl/site-a.com.crt /etc/nginx/ssl/site-a.com.key").unwrap(),
        cache_timeout_secs: 300,
    }
}

#[test]
fn site_text_parses_into_the_spec() {
    let s = seed_site();
    let prod = &s.hosts["production"];
    assert_eq!(prod.primary, "site-a.com");
    assert_eq!(prod.aliases, vec!["www.site-a.com".to_string()]);
    assert_eq!(s.routes.len(), 5);
    assert_eq!(
        s.routes[0].target,
        RouteTarget::Files {
            root: "/app/static/".into(),
            expires: "1y".into()
        }
    );
    assert_eq!(
        s.routes[4].target,
        RouteTarget::Service {
            service: "portal".into()
        }
    );
    assert_eq!(
        s.smoke_checks[0].assertions,
        vec![
            JsonAssertion::NonEmpty {
                pointer: ".items".into()
            },
            JsonAssertion::Equals {
                pointer: ".debug.site".into(),
                value: "${HOST}".into()
            },
        ]
    );
    assert_eq!(
        s.tls["production"].certificate_key,
        "/etc/nginx/ssl/site-a.com.key"
    );
}

#[test]
fn site_round_trips() {
    let s = seed_site();
    let text = SiteText::of(&s);
    assert_eq!(parse_site(&text).unwrap(), s);
    assert_eq!(
        text.hosts,
        "production: site-a.com www.site-a.com\nstaging: a.staging.test"
    );
    assert_eq!(
        parse_site(&SiteText {
            name: "x".into(),
            ..Default::default()
        })
        .unwrap()
        .name,
        "x"
    );
}

#[test]
fn site_errors_name_field_and_line() {
    let e = parse_hosts("production: a.com\n\nstaging:").unwrap_err();
    assert_eq!(
        e,
        AppError::invalid("hosts", "line 3: staging: no hostname")
    );
    let e = parse_routes("/api/ -> service a\n/x -> elsewhere").unwrap_err();
    assert!(
        matches!(e, AppError::Invalid { ref field, ref message } if field == "routes" && message.starts_with("line 2:"))
    );
    let e = parse_smoke_checks("/ | .a is b").unwrap_err();
    assert_eq!(e.field(), Some("smoke_checks"));
    assert_eq!(
        parse_tls("production: only-one").unwrap_err().field(),
        Some("tls")
    );
    let t = SiteText {
        cache_timeout_secs: "-1".into(),
        ..Default::default()
    };
    assert_eq!(
        parse_site(&t).unwrap_err().field(),
        Some("cache_timeout_secs")
    );
}

fn full_service() -> ServiceSpec {
    ServiceSpec {
        name: "authoring".into(),
        image: "idp-cms/authoring:${GIT_SHA}".into(),
        replicas: 2,
        command: vec!["gunicorn".into(), "-b".into(), "0.0.0.0:8000".into(), "it's here".into(), "".into()],
        env: [("DJANGO_SETTINGS".to_string(), "cms.prod".to_string()), ("cluster.name".into(), "a=b c".into())].into(),
        inherit: Some(vec!["DATABASE_URL".into(), "SITE_NAME".into()]),
        ports: parse_ports("127.0.0.1:8080:80/tcp\n8080:80\n80\n127.0.0.1::9000/udp").unwrap(),
        volumes: parse_volumes("media:/app/media\n./conf:/etc/conf:ro\nshared:/srv:ro:external").unwrap(),
        resources: Resources {
            cpu_limit: Some(2.0),
            memory_limit: Some(4 << 30),
            cpu_reservation: Some(0.5),
            memory_reservation: Some(1536 << 20),
        },
        health: Some(HealthCheck {
            http_path: "/api/health".into(),
            command: vec![],
            interval_secs: 30,
            timeout_secs: 5,
            retries: 3,
            start_period_secs: 0,
        }),
        pre_deploy: parse_jobs("migrate: python manage.py migrate --noinput\ncollectstatic: python manage.py collectstatic --noinput").unwrap(),
        http_port: Some(8000),
        update: Some(stack::lifecycle::Update::Recreate),
        depends_on: parse_depends_on("postgres: service_healthy\nredis: service_started").unwrap(),
        restart: Some(stack::lifecycle::Restart::OnFailure { max: Some(5) }),
        internal: true,
        runtime: parse_runtime(
            "entrypoint: /bin/sh -c 'exec gunicorn'\nuser: 999:999\nworking_dir: /srv\nshm_size: 256m\n\
             ulimit nofile: 20000:40000\ntmpfs: /run:size=64m\ncap_add: SYS_NICE IPC_LOCK\n\
             cap_drop: NET_RAW\nextra_host: db.internal:10.0.0.5",
            "45",
        )
        .unwrap(),
        metrics: stack::scrape::ScrapeSpec::parse(":9100/_metrics").unwrap(),
    }
}

#[test]
fn lifecycle_fields_parse_and_refuse_what_they_cannot_be() {
    let s = full_service();
    assert!(s.volumes[2].external && s.volumes[2].read_only);
    assert_eq!(s.runtime.stop_grace_secs, Some(45));
    assert_eq!(s.runtime.shm_size, Some(256 << 20));
    assert_eq!(s.runtime.entrypoint, vec!["/bin/sh", "-c", "exec gunicorn"]);
    assert_eq!(s.runtime.ulimits["nofile"].hard, 40000);
    assert_eq!(
        parse_depends_on("db").unwrap()[0].condition,
        stack::lifecycle::Condition::ServiceHealthy
    );
    assert_eq!(
        parse_depends_on("db: eventually").unwrap_err().field(),
        Some("depends_on")
    );
    assert_eq!(
        parse_runtime("privileged: true", "").unwrap_err().field(),
        Some("runtime")
    );
    assert_eq!(
        parse_runtime("", "forever").unwrap_err().field(),
        Some("stop_grace")
    );
    let base = ServiceText::of(&s);
    for (t, field) in [
        (
            ServiceText {
                update: "sometimes".into(),
                ..base.clone()
            },
            "update",
        ),
        (
            ServiceText {
                restart: "maybe".into(),
                ..base.clone()
            },
            "restart",
        ),
    ] {
        assert_eq!(parse_service(&t).unwrap_err().field(), Some(field));
    }
}

#[test]
fn service_round_trips() {
    let s = full_service();
    let text = ServiceText::of(&s);
    assert_eq!(text.memory_limit, "4G");
    assert_eq!(text.memory_reservation, "1536M");
    assert_eq!(
        text.ports,
        "127.0.0.1:8080:80/tcp\n8080:80\n80\n127.0.0.1::9000/udp"
    );
    assert_eq!(
        text.volumes,
        "media:/app/media\n./conf:/etc/conf:ro\nshared:/srv:ro:external"
    );
    assert_eq!(parse_service(&text).unwrap(), s);
    // A command health check, and none at all.
    let mut c = s.clone();
    c.health = Some(HealthCheck {
        command: vec!["CMD".into(), "pg_isready".into()],
        interval_secs: 10,
        ..Default::default()
    });
    c.command = vec![];
    c.resources = Resources::default();
    assert_eq!(parse_service(&ServiceText::of(&c)).unwrap(), c);
    c.health = None;
    assert_eq!(parse_service(&ServiceText::of(&c)).unwrap(), c);
}

#[test]
fn service_parts_parse() {
    assert_eq!(
        parse_jobs("migrate: python manage.py migrate --noinput").unwrap()[0]
            .command
            .len(),
        4
    );
    assert_eq!(
        parse_jobs("migrate: python manage.py migrate").unwrap()[0].name,
        "migrate"
    );
    let p = &parse_ports("127.0.0.1:8080:80/tcp").unwrap()[0];
    assert_eq!(
        (
            p.host_ip.as_str(),
            p.host_port,
            p.container_port,
            p.protocol.as_str()
        ),
        ("127.0.0.1", Some(8080), 80, "tcp")
    );
    assert!(parse_volumes("/data:/var/lib:ro").unwrap()[0].read_only);
}

#[test]
fn service_errors_name_field_and_line() {
    let base = ServiceText::of(&full_service());
    let field = |t: ServiceText| parse_service(&t).unwrap_err().field().map(str::to_string);
    assert_eq!(
        field(ServiceText {
            replicas: "-1".into(),
            ..base.clone()
        })
        .as_deref(),
        Some("replicas")
    );
    assert_eq!(
        field(ServiceText {
            memory_limit: "4Q".into(),
            ..base.clone()
        })
        .as_deref(),
        Some("memory_limit")
    );
    assert_eq!(
        field(ServiceText {
            command: "echo 'x".into(),
            ..base.clone()
        })
        .as_deref(),
        Some("command")
    );
    assert_eq!(
        field(ServiceText {
            health_command: "curl x".into(),
            ..base.clone()
        })
        .as_deref(),
        Some("health_path")
    );
    let e = parse_ports("80\n99999").unwrap_err();
    assert!(
        matches!(e, AppError::Invalid { ref field, ref message } if field == "ports" && message.starts_with("line 2:"))
    );
    assert_eq!(
        parse_env("A=1\nnope").unwrap_err(),
        AppError::invalid("env", "line 2: expected KEY=value")
    );
    assert_eq!(
        parse_volumes("novolume").unwrap_err().field(),
        Some("volumes")
    );
    assert_eq!(
        parse_jobs("migrate").unwrap_err().field(),
        Some("pre_deploy")
    );
}
