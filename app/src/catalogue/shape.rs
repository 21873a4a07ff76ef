use std::{fmt, str::FromStr};

/// A picture size in pixels, written `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// The reduced ratio, e.g. 1152x768 is 3:2; used to group sizes in the page.
    pub fn ratio(self) -> (u32, u32) {
        let g = gcd(self.width, self.height);
        (self.width / g, self.height / g)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a size like 1024x1024");
        let (w, h) = s.trim().split_once('x').ok_or_else(bad)?;
        let width: u32 = w.parse().map_err(|_| bad())?;
        let height: u32 = h.parse().map_err(|_| bad())?;
        if width == 0 || height == 0 {
            return Err(bad());
        }
        Ok(Self { width, height })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// An aspect ratio such as `16:9`, which is how Stability's models take a picture's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AspectRatio {
    pub width: u32,
    pub height: u32,
}

impl FromStr for AspectRatio {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an aspect ratio like 16:9");
        let (w, h) = s.trim().split_once(':').ok_or_else(bad)?;
        let width: u32 = w.parse().map_err(|_| bad())?;
        let height: u32 = h.parse().map_err(|_| bad())?;
        if width == 0 || height == 0 {
            return Err(bad());
        }
        Ok(Self { width, height })
    }
}

impl fmt::Display for AspectRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.width, self.height)
    }
}

/// The shape of the pictures asked for, in the terms the chosen model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Size(Size),
    Aspect(AspectRatio),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Size(s) => s.fmt(f),
            Shape::Aspect(a) => a.fmt(f),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Standard,
    Premium,
}

impl Quality {
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Standard => "standard",
            Quality::Premium => "premium",
        }
    }
}

impl FromStr for Quality {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "standard" => Ok(Quality::Standard),
            "premium" => Ok(Quality::Premium),
            other => Err(format!("{other:?} is not a quality (standard or premium)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_reduce_to_their_ratio() {
        let size: Size = "1152x768".parse().unwrap();
        assert_eq!(size.ratio(), (3, 2));
        assert_eq!(size.to_string(), "1152x768");
        assert!("1024".parse::<Size>().is_err());
        assert!("0x5".parse::<Size>().is_err());
    }

    #[test]
    fn aspect_ratios_parse() {
        assert_eq!("16:9".parse::<AspectRatio>().unwrap().to_string(), "16:9");
        assert!("16/9".parse::<AspectRatio>().is_err());
    }
}
