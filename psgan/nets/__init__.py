"""Networks shared by training, generation and evaluation: Progressive GAN layers, the PSGAN generator and
discriminator, the pose maps they take at every scale, and where they compute."""
