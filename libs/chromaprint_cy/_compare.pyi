import numpy as np
import numpy.typing as npt

KEY_SHIFT: int

def simhash(items: npt.NDArray[np.uint32]) -> int: ...
def extract_query(
    items: npt.NDArray[np.uint32], silence: int, mask: int, start_at: int, length: int
) -> npt.NDArray[np.uint32]: ...
def compare2(
    a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32], maxoffset: int
) -> tuple[float, int]: ...
