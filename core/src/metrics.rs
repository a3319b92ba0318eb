//! PSNR and SSIM on luma (in progress).
