//! Renders a chart directory as `helm template` computes its engine map, `N` times over, and
//! prints how many templates it rendered: a workload for profilers (`valgrind
//! --tool=callgrind`, `perf`) without the criterion harness around it.
//!
//! `cargo run --release -p fleet-helm --example render_chart -- CHART_DIR [VALUES.yaml] [N]`

use fleet_helm::render::{self, Release};
use fleet_helm::{chart, coalesce, dependencies, values};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: render_chart CHART_DIR [VALUES.yaml] [N]")?;
    let user_text = match args.next() {
        Some(path) => std::fs::read_to_string(path)?,
        None => String::new(),
    };
    let times: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1);
    let release = Release {
        name: "demo".into(),
        namespace: "fleet-demo".into(),
        revision: 1,
        is_install: true,
        kube_version: "v1.31.0".into(),
        api_versions: Vec::new(),
    };
    let mut rendered = 0;
    // With PARSE_ONLY set, only parse every template of the chart and its subcharts: the
    // parser's share of a render.
    if std::env::var_os("PARSE_ONLY").is_some() {
        let chart = chart::load(std::path::Path::new(&dir))?;
        let options = fleet_gotemplate::ParseOptions {
            funcs: render::helm_funcs(),
            ..Default::default()
        };
        fn all<'c>(c: &'c chart::Chart, out: &mut Vec<&'c chart::File>) {
            out.extend(&c.templates);
            for d in &c.dependencies {
                all(d, out);
            }
        }
        let mut files = Vec::new();
        all(&chart, &mut files);
        let start = std::time::Instant::now();
        for _ in 0..times {
            for f in &files {
                let text = String::from_utf8_lossy(&f.data);
                fleet_gotemplate::Template::parse(&f.name, &text, &options)?;
            }
        }
        println!(
            "{} templates parsed, {:?} per pass",
            files.len(),
            start.elapsed() / times as u32
        );
        return Ok(());
    }
    for _ in 0..times {
        let mut chart = chart::load(std::path::Path::new(&dir))?;
        let user = values::parse(&user_text, "values")?;
        dependencies::process(&mut chart, &user);
        let values = coalesce::coalesce_values(&chart, &user);
        rendered = render::render(&chart, &values, &release)?.len();
    }
    println!("{rendered} templates");
    Ok(())
}
