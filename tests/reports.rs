//! The reports: `eval`'s table and CSV, `plot` (log.csv to SVG) for the three kinds of
//! log there are (SRResNet, SRGAN, and logs written before the D(HR)/D(SR) and LPIPS
//! columns existed), and `compare`'s labels and memory check.

use srgan_wgpu::eval::{self, Score};
use srgan_wgpu::plot::{svg, Log};

/// An SRGAN log of `steps` rows, validated every 10 steps.
fn srgan_log(steps: usize) -> String {
    let mut s = String::from(
        "step,lr,loss_g,content,adversarial,loss_d,seconds,val_psnr,d_real,d_fake,val_lpips\n",
    );
    for k in 1..=steps {
        let x = k as f64;
        let (psnr, lpips) = if k % 10 == 0 {
            (
                format!("{:.3}", 25.0 + x / 100.0),
                format!("{:.4}", 0.3 - x / 1e4),
            )
        } else {
            (String::new(), String::new())
        };
        s += &format!(
            "{k},0.0001,{},{},{},{},0.03,{psnr},{},{},{lpips}\n",
            0.02 + 1.0 / x,
            0.01 + 1.0 / x,
            0.7 + x / 1e3,
            1.3 - x / 1e3,
            0.5 + x / 3e3,
            0.5 - x / 3e3
        );
    }
    s
}

fn count(svg: &str, what: &str) -> usize {
    svg.matches(what).count()
}

#[test]
fn an_srgan_log_gets_five_panels() {
    let picture = svg(&Log::parse(&srgan_log(1000)).unwrap(), "run <1>").unwrap();
    for title in [
        "losses of the generator",
        "adversarial losses",
        "discriminator outputs",
        "validation PSNR",
        "validation LPIPS",
    ] {
        assert!(picture.contains(title), "no panel {title}");
    }
    // Two lines in each of the first three panels, one in each validation panel.
    assert_eq!(count(&picture, "<polyline"), 8);
    // 1000 steps are averaged into at most 400 points a line; the 100 validations are
    // drawn as they are, too many to mark each.
    let longest = picture
        .lines()
        .filter(|l| l.starts_with("<polyline"))
        .map(|l| count(l, ","))
        .max()
        .unwrap();
    assert!(longest <= 400, "{longest} points");
    assert_eq!(count(&picture, "<circle"), 0);
    assert!(picture.contains("run &lt;1&gt;"), "the title is escaped");
    // 30 validations of PSNR and 30 of LPIPS are marked.
    let short = svg(&Log::parse(&srgan_log(300)).unwrap(), "short").unwrap();
    assert_eq!(count(&short, "<circle"), 60);
}

#[test]
fn an_srresnet_log_and_an_old_log_get_the_panels_they_have_data_for() {
    // SRResNet: no discriminator; an old log: no d_real, d_fake or val_lpips columns.
    let old = "step,lr,loss_g,content,adversarial,loss_d,seconds,val_psnr\n\
               1,0.0001,0.05,0.05,0,0,0.1,\n2,0.0001,0.04,0.04,0,0,0.1,24.5\n\
               3,0.0001,0.03,0.03,0,0,0.1,\n4,0.0001,0.02,0.02,0,0,0.1,25.5\n";
    let picture = svg(&Log::parse(old).unwrap(), "old").unwrap();
    assert!(picture.contains("validation PSNR"));
    assert!(!picture.contains("adversarial losses"));
    assert!(!picture.contains("validation LPIPS"));
    assert_eq!(count(&picture, "<polyline"), 3);
}

#[test]
fn what_is_not_a_log_is_refused() {
    assert!(Log::parse("a,b\n1,2\n").is_err());
    let empty = Log::parse("step,lr,loss_g\n").unwrap();
    assert!(svg(&empty, "empty").is_err());
}

fn score(name: &str, psnr: f64, lpips: Option<f64>) -> Score {
    Score {
        name: name.into(),
        psnr,
        ssim: 0.5,
        bicubic_psnr: psnr - 2.0,
        bicubic_ssim: 0.4,
        lpips,
        bicubic_lpips: lpips.map(|l| 2.0 * l),
    }
}

/// eval's table and CSV: LPIPS columns where measured, a mean only over a complete column.
#[test]
fn eval_reports_lpips_where_measured() {
    let scores = [
        score("a.png", 30.0, Some(0.1)),
        score("b.png", 28.0, Some(0.3)),
    ];
    let table = eval::table(&scores);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].contains("LPIPS"));
    // Columns line up: every row as long as the header.
    assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{table}");
    assert!(
        lines[3].starts_with("mean") && lines[3].contains("0.2000") && lines[3].contains("0.4000")
    );
    assert!(lines[3].contains("29.00"));
    let csv = eval::csv(&scores);
    assert!(csv.starts_with("image,psnr,ssim,lpips,bicubic_psnr,bicubic_ssim,bicubic_lpips\n"));
    assert!(
        csv.contains("a.png,30.0000,0.50000,0.10000,28.0000,0.40000,0.20000\n"),
        "{csv}"
    );

    // One image without LPIPS: a dash there, and no mean.
    let partial = [score("a.png", 30.0, Some(0.1)), score("c.png", 28.0, None)];
    let table = eval::table(&partial);
    assert!(table.lines().nth(2).unwrap().contains(" -"), "{table}");
    assert!(eval::mean(&partial).lpips.is_none());
    assert!(eval::csv(&partial).contains("c.png,28.0000,0.50000,,26.0000,0.40000,\n"));

    // None measured: no LPIPS columns at all.
    let none = [score("a.png", 30.0, None)];
    assert!(!eval::table(&none).contains("LPIPS"));
}

/// A label too long for its column is cut, keeping a self-ensemble's "+"; one that fits stays.
#[test]
fn compare_labels_keep_the_ensembles_plus() {
    use srgan_wgpu::compare::fit;
    assert_eq!(fit("srresnet+", 9), "srresnet+");
    assert_eq!(fit("srresnet+", 5), "srre+");
    assert_eq!(fit("srresnet", 5), "srres");
    assert_eq!(fit("srresnet+", 1), "s");
    assert_eq!(fit("PSNR 29.26 dB", 7), "PSNR 29");
    assert_eq!(fit("", 0), "");
}

/// `compare` refuses, before any work, a figure that no host's memory holds (100,000 pixels
/// square: terabytes), with one line that says what and how much; an ordinary one passes.
/// Linux only: elsewhere the system does not say how much memory is free.
#[cfg(target_os = "linux")]
#[test]
fn compare_refuses_a_figure_memory_cannot_hold() {
    use srgan_wgpu::compare::check_memory;
    let err = check_memory(100_000, 100_000, 2, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("comparing 2 model(s) on a 100000x100000 image needs about"),
        "{err}"
    );
    assert!(err.contains("MB are free") && !err.contains('\n'), "{err}");
    check_memory(256, 320, 2, true).unwrap();
}
