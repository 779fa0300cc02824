import numpy as np
import numpy.typing as npt

def window_frames(
    samples: npt.NDArray[np.int16],
    first: int,
    count: int,
    hop: int,
    window: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None: ...
def power_spectrum(spectrum: npt.NDArray[np.complex128], out: npt.NDArray[np.float64]) -> None: ...
def chroma(
    power: npt.NDArray[np.float64],
    bands: npt.NDArray[np.int32],
    lo: int,
    hi: int,
    out: npt.NDArray[np.float64],
) -> None: ...
def chroma_filter(
    rows: npt.NDArray[np.float64], taps: npt.NDArray[np.float64], out: npt.NDArray[np.float64]
) -> None: ...
def normalize(rows: npt.NDArray[np.float64], threshold: float) -> None: ...
def integral_image(rows: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None: ...
def classify(
    img: npt.NDArray[np.float64],
    count: int,
    filters: npt.NDArray[np.int32],
    thresholds: npt.NDArray[np.float64],
    gray: npt.NDArray[np.uint32],
    out: npt.NDArray[np.uint32],
) -> None: ...

class SilenceRemover:
    def __init__(self, threshold: int, window: int) -> None: ...
    def feed(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]: ...

def rdft_power(
    samples: npt.NDArray[np.int16],
    first: int,
    count: int,
    hop: int,
    window: npt.NDArray[np.float32],
    ctx: int,
    calc: int,
    scratch: npt.NDArray[np.float32],
    out: npt.NDArray[np.float64],
) -> None: ...
