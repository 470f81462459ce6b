//! `plot`: log.csv to SVG, for the three kinds of log there are (SRResNet, SRGAN, and logs
//! written before the D(HR)/D(SR) and LPIPS columns existed).

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
